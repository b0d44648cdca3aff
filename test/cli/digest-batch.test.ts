/**
 * `imgdigest digest` with several references (arguments, `-` for stdin lines, `--from-file`): one
 * line per reference in input order, one manifest HEAD per distinct reference over shared
 * connections, failures named on stderr while the rest still resolve (exit 3), and a list with a
 * malformed line refused before any request (exit 2). On the real CNCF registry, counted by its
 * proxy.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { type SeededImages, seedRegistry } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

describe.skipIf(!haveTools('docker-registry'))('digest with several references', () => {
  let reg: Distribution;
  let seeded: SeededImages;
  let dir: string;

  beforeAll(async () => {
    reg = await startDistribution({ auth: 'anonymous' });
    seeded = await seedRegistry(reg);
    dir = await tempDir('digest-batch');
  });
  afterAll(async () => {
    await reg?.stop();
    await cleanupTempDirs();
  });

  const manifestRequests = () => reg.requestLog.filter((r) => r.path.includes('/manifests/'));

  it('prints REF DIGEST for arguments, stdin lines and a file, in input order, one HEAD per distinct reference', async () => {
    const { sample, single, nested, dockerList, zstd } = seeded;
    const list = join(dir, 'images.txt');
    await writeFile(list, `# images of the team\n${zstd.ref}\n\n  ${sample.ref}  \n`);
    reg.resetCounts();
    const r = await runCli(['digest', sample.ref, single.ref, '-', '--from-file', list], {
      stdin: `${nested.ref}\n# a comment\n${dockerList.ref}\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [sample, single, nested, dockerList, zstd, sample].map((s) => `${s.ref} ${s.digest}\n`).join(''),
    );
    // sample is listed twice and asked once.
    const requests = manifestRequests();
    expect(requests.every((x) => x.method === 'HEAD')).toBe(true);
    expect(requests).toHaveLength(5);
  });

  it('reports a failing reference on stderr and still resolves the others: exit 3', async () => {
    const missing = `${reg.host}/sample:no-such-tag`;
    const r = await runCli(['digest', '--full-ref', seeded.single.ref, missing, seeded.nested.ref]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(
      `${seeded.single.ref} ${reg.host}/sample@${seeded.single.digest}\n` +
        `${seeded.nested.ref} ${reg.host}/nested@${seeded.nested.digest}\n`,
    );
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^imgdigest: ${missing.replace(/[.]/g, '\\.')}: .*not found`, 'i'));
    expect(lines[1]).toBe('imgdigest: 1 of 3 references failed');
  });

  it('--json prints one array in input order, a failure in its place', async () => {
    const missing = `${reg.host}/nothing:here`;
    const r = await runCli(['digest', '--json', '--platform', 'linux/arm64', seeded.sample.ref, missing]);
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({
      reference: seeded.sample.ref,
      digest: seeded.sample.platforms['linux/arm64'],
      kind: 'manifest',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: expect.any(Number),
      platform: 'linux/arm64',
      index: seeded.sample.digest,
    });
    expect(out[1]).toMatchObject({ reference: missing, error: { code: expect.any(String) } });
  });

  it('refuses a list with a malformed line before sending anything: exit 2, file and line named', async () => {
    const list = join(dir, 'bad.txt');
    await writeFile(list, `${seeded.single.ref}\nNot A Reference\noci:./layout\n`);
    reg.resetCounts();
    const r = await runCli(['digest', '--from-file', list]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^imgdigest: ${list}:2: invalid reference "Not A Reference"`));
    expect(lines[1]).toBe(
      `imgdigest: ${list}:3: "oci:./layout": several references resolve registry references only`,
    );
    expect(reg.requestLog).toHaveLength(0);
  });

  it('an empty list is a usage error, and stdin cannot carry both the password and the references', async () => {
    const empty = await runCli(['digest', '-'], { stdin: '# nothing\n\n' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('imgdigest: no references given (the list was empty)\n');
    const both = await runCli(['digest', '-u', 'me', '--password-stdin', '-']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('cannot both read stdin');
  });

  it('to a pipe, lines are written in blocks, yet a failure on stderr still comes after the lines before it', async () => {
    const missing = `${reg.host}/sample:no-such-tag`;
    const refs = [seeded.single, seeded.nested, seeded.dockerList, seeded.zstd];
    // One transcript of both streams, in write order, as a terminal or `2>&1` shows them.
    const writes: Array<{ to: 'out' | 'err'; text: string }> = [];
    const recorder = (to: 'out' | 'err') =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          writes.push({ to, text: chunk.toString('utf8') });
          done();
        },
      });
    const stdin = new PassThrough();
    stdin.end('');
    const code = await main(['digest', refs[0]!.ref, refs[1]!.ref, missing, refs[2]!.ref, refs[3]!.ref], {
      stdout: recorder('out'),
      stderr: recorder('err'),
      stdin,
      env: { ...process.env, DOCKER_CONFIG: '/nonexistent-imgdigest-test' },
      cwd: process.cwd(),
    });
    expect(code).toBe(3);
    const line = (s: { ref: string; digest: string }) => `${s.ref} ${s.digest}\n`;
    const transcript = writes
      .map((w) => (w.to === 'err' ? `ERR ${w.text.split(':')[0]}\n` : w.text))
      .join('');
    expect(transcript).toBe(
      `${line(refs[0]!)}${line(refs[1]!)}ERR imgdigest\n${line(refs[2]!)}${line(refs[3]!)}ERR imgdigest\n`,
    );
    expect(writes.find((w) => w.to === 'err')!.text).toContain(missing);
  });
});
