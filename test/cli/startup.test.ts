/**
 * What a short run of the built CLI (bin/imgdigest.js over dist/cli-bundle/) loads: Node's
 * built-in modules that only some commands use are loaded when used, not at every start (see
 * scripts/bundle-cli.mjs and bench/RESULTS.md, section 2). Which modules, not how long: timing
 * lives in bench/.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { ensureBuilt, repoRoot } from '../support/build.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

const run = promisify(execFile);

/** Prints the built-in modules the process loaded, one line, on stderr at exit. */
const REPORT_MODULES = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => process.stderr.write('modules: ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ') + '\\n'))",
)}`;

async function builtins(...args: string[]): Promise<{ stdout: string; modules: Set<string> }> {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', REPORT_MODULES, join(repoRoot, 'bin', 'imgdigest.js'), ...args],
    { encoding: 'utf8' },
  );
  const line = stderr.split('\n').find((l) => l.startsWith('modules: ')) ?? '';
  return { stdout, modules: new Set(line.slice('modules: '.length).split(' ')) };
}

describe('start-up of the built CLI', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    await ensureBuilt();
    registry = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
  });
  afterAll(async () => {
    await registry?.close();
    await cleanupTempDirs();
  });

  it('--version loads no module a command would need', async () => {
    const { stdout, modules } = await builtins('--version');
    expect(stdout).toMatch(/^\d+\.\d+\.\d+/);
    for (const m of ['child_process', 'v8', 'http', 'crypto', 'fs/promises'])
      expect(modules, m).not.toContain(m);
  });

  it('digest by HEAD loads HTTP/1.1, not undici, HTTP/2, TLS, hashing or child processes', async () => {
    const { stdout, modules } = await builtins('digest', `${registry.host}/sample/app:1.0`);
    expect(stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(modules).toContain('http');
    // A one-shot command sends its requests with node:http (registryOptions): undici, which
    // loads node:assert, is not loaded, nor node:v8 for its WebAssembly flag (baselineWasmOnly).
    // (node:fs/promises is: core's file writing is in the chunk of the rest of core, and the
    // module is a re-export of what Node's ES module loader has already loaded.)
    for (const m of ['assert', 'v8', 'http2', 'tls', 'crypto', 'child_process'])
      expect(modules, m).not.toContain(m);
  });

  it('digest --from-file (a batch) sends its requests with undici', async () => {
    const list = join(await tempDir('startup'), 'refs.txt');
    await writeFile(list, `${registry.host}/sample/app:1.0\n${registry.host}/sample/app:latest\n`);
    const { stdout, modules } = await builtins('digest', '--from-file', list);
    expect(stdout.trim().split('\n')).toHaveLength(2);
    for (const m of ['assert', 'v8']) expect(modules, m).toContain(m);
  });
});
