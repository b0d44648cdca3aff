/**
 * Relative `oci:` and `docker-archive:` paths are read and written in the folder the CLI runs for
 * (`ctx.io.cwd`), which for a program embedding `main()` or a test is not the process's own.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages, writeOciLayout } from '../../src/builder/index.js';
import { runCli } from '../support/cli.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

describe('relative local paths', () => {
  let dir: string;
  let sample: SampleImages;
  beforeAll(async () => {
    dir = await tempDir('relative-paths');
    sample = await buildSampleImages('relative');
    await writeOciLayout(join(dir, 'layout'), sample);
  });
  afterAll(cleanupTempDirs);

  it('reads oci: from the folder it runs for, not the process folder', async () => {
    expect(process.cwd()).not.toBe(dir);
    const r = await runCli(['digest', 'oci:layout:latest'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${sample.index.digest}\n`);
  });

  it('writes oci: and docker-archive: destinations there, and reads them back', async () => {
    const copied = await runCli(['copy', '--quiet', 'oci:layout:latest', 'oci:copied:latest'], { cwd: dir });
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    expect(existsSync(join(dir, 'copied', 'index.json'))).toBe(true);
    expect(existsSync(join(process.cwd(), 'copied'))).toBe(false);
    const again = await runCli(['digest', 'oci:copied:latest'], { cwd: dir });
    expect(again.stdout).toBe(`${sample.index.digest}\n`);

    const archived = await runCli(
      [
        'copy',
        '--quiet',
        '--platform',
        'linux/amd64',
        'oci:layout:latest',
        'docker-archive:app.tar:relative/app:1',
      ],
      { cwd: dir },
    );
    expect(archived.stderr).toBe('');
    expect(existsSync(join(dir, 'app.tar'))).toBe(true);
    expect(existsSync(join(process.cwd(), 'app.tar'))).toBe(false);
    const read = await runCli(['digest', 'docker-archive:app.tar'], { cwd: dir });
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });
});
