/**
 * check and pin print file by file as they go (keeping counts, not every finding or change): what
 * they print must be what the library's collected results say, in the same order, over files whose
 * order as given differs from their order by path (a directory `a/` walks before `a-b.yaml`, but
 * `a-b.yaml` sorts first). pin's two passes must agree whether the first pass kept a file's images
 * or the second read the file again, and a failed reference still lists every site and writes
 * nothing.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReference } from '../../src/core/reference.js';
import { checkPaths, formatFinding, summaryLine } from '../../src/k8s/check.js';
import { readInputs } from '../../src/k8s/inputs.js';
import { type PinChange, pinEach, pinFiles } from '../../src/k8s/pin.js';
import { defaultRules } from '../../src/k8s/rules.js';
import { runCli } from '../support/cli.js';
import { fakeDigest, fakeResolver } from '../support/fake-resolver.js';
import { CORPUS, CORPUS_IMAGES, deployment } from '../support/manifests.js';
import { removeTempDir, tempDirSync } from '../support/tmp.js';

const root = tempDirSync('streamed');
afterAll(() => removeTempDir(root));

const IMAGES = [
  ...CORPUS_IMAGES,
  'nginx:1.27', // pinned in commented.yaml to another digest: --update moves it
];
const MANY = Array.from({ length: 7 }, (_, i) => `registry.example.com/many/svc-${i}:1.${i}`);

/** REF@DIGEST lines with the digests the fake resolver gives, so both pin the same. */
const lockLines = (images: string[]) =>
  images.map((i) => `${i}@${fakeDigest(parseReference(i).canonical)}`).join('\n');

let n = 0;
/** A tree where the walk order is not the path order, with the corpus's anchors, flow and templates. */
function tree(): { dir: string; args: string[] } {
  const dir = join(root, `t${n++}`);
  mkdirSync(join(dir, 'apps/a'), { recursive: true });
  const docs = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => deployment(from + i, MANY[(from + i) % MANY.length]!)).join(
      '---\n',
    );
  writeFileSync(join(dir, 'apps/a/x.yaml'), docs(0, 5));
  writeFileSync(join(dir, 'apps/a-b.yaml'), docs(5, 4));
  writeFileSync(join(dir, 'apps/z.yaml'), docs(9, 3));
  for (const f of ['anchors.yaml', 'commented.yaml', 'flow.yaml', 'multi.yaml', 'templated.yaml'])
    cpSync(join(CORPUS, f), join(dir, 'apps', f));
  writeFileSync(join(dir, 'built.txt'), lockLines([...IMAGES, ...MANY]));
  // z.yaml given first: the input order starts with it, the path order does not.
  return { dir, args: ['-f', 'apps/z.yaml', '-f', 'apps'] };
}

describe('check prints file by file', () => {
  it('the findings and summary the library collects, in the same order', async () => {
    const { dir, args } = tree();
    const r = await runCli(['check', ...args], { cwd: dir });
    const rules = defaultRules();
    const result = await checkPaths(['apps/z.yaml', 'apps'], rules, { cwd: dir });
    expect(result.findings.length).toBeGreaterThan(12);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      result.findings.map((f) => `${formatFinding(f, rules.defaultNamespace)}\n`).join(''),
    );
    expect(r.stderr).toBe(`${summaryLine(result)}\n`);
    const json = await runCli(['check', ...args, '--json'], { cwd: dir });
    expect(JSON.parse(json.stdout).findings).toEqual(JSON.parse(JSON.stringify(result.findings)));
  });

  it('lists the valid files’ findings and exits 2 when one file is not valid YAML', async () => {
    const { dir, args } = tree();
    writeFileSync(join(dir, 'apps/bad.yaml'), 'kind: [unclosed\n');
    const r = await runCli(['check', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^imgdigest: apps\/bad\.yaml:\d+:\d+: invalid YAML/m);
    expect(r.stdout).toContain('apps/z.yaml:');
    expect(r.stdout).toContain('apps/a/x.yaml:');
  });
});

describe('pin prints file by file', () => {
  const modes = [[], ['--check'], ['--diff'], ['--json'], ['--update'], ['--drop-tag', '--check']];
  for (const mode of modes) {
    it(`pin ${mode.join(' ') || '(print)'}: as when every change is kept for a lock file`, async () => {
      const { dir, args } = tree();
      const base = ['pin', ...args, '--from-lock', 'built.txt', ...mode];
      const streamed = await runCli(base, { cwd: dir });
      // With --lock-file the lock is written before anything is printed: every change is kept.
      const kept = await runCli([...base, '--lock-file', 'images.lock'], { cwd: dir });
      expect(streamed.stdout.length).toBeGreaterThan(0);
      if (mode.includes('--update')) expect(streamed.stderr).toMatch(/nginx:1\.27 moved sha256:/);
      expect(streamed).toEqual(kept);
    });
  }

  it('pin --check lists the changes pinFiles collects, in its order', async () => {
    const { dir, args } = tree();
    const r = await runCli(['pin', ...args, '--from-lock', 'built.txt', '--check'], { cwd: dir });
    const { files } = await readInputs(['apps/z.yaml', 'apps'], { cwd: dir });
    const result = await pinFiles(files, { rules: defaultRules(), resolver: fakeResolver() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(result.changes.map((c) => `${c.file}:${c.line}: ${c.image} -> ${c.to}\n`).join(''));
  });

  it('gives the same edits whether the first pass kept a file’s images or the second read it again', async () => {
    const { dir } = tree();
    const { files } = await readInputs(['apps/z.yaml', 'apps'], { cwd: dir });
    const run = async (keptCandidates: number | undefined, order: 'input' | 'path') => {
      const handed: { path: string; changes: PinChange[]; text: string }[] = [];
      const summary = await pinEach(files, {
        rules: defaultRules(),
        resolver: fakeResolver(),
        order,
        ...(keptCandidates === undefined ? {} : { keptCandidates }),
        onFile: ({ file, changes, text }) => handed.push({ path: file.path, changes, text }),
      });
      return { handed, notes: summary.notes, changed: summary.changed };
    };
    const all = await run(undefined, 'input');
    expect(all.changed.images).toBeGreaterThan(12);
    expect(await run(0, 'input')).toEqual(all);
    expect(await run(7, 'input')).toEqual(all);
    const byPath = await run(0, 'path');
    expect(byPath.handed.map((h) => h.path)).toEqual(all.handed.map((h) => h.path).sort());
    expect(byPath.notes).toEqual(all.notes);
  });

  it('a reference that fails: every site listed, whether kept or read again, and nothing written', async () => {
    const { dir, args } = tree();
    const missing = MANY[3]!;
    writeFileSync(join(dir, 'built.txt'), lockLines([...IMAGES, ...MANY].filter((i) => i !== missing)));
    const before = (f: string) => readFileSync(join(dir, f), 'utf8');
    const texts = ['apps/a/x.yaml', 'apps/a-b.yaml', 'apps/z.yaml'].map(before);
    const r = await runCli(['pin', ...args, '--from-lock', 'built.txt', '--write'], { cwd: dir });
    expect(r.code).toBe(3);
    // Deployments 3 and 10 use MANY[3]: one in a/x.yaml, one in z.yaml.
    const lines = r.stderr.split('\n').filter((l) => l.includes(`${missing}: not in the lock`));
    expect(lines.map((l) => l.split(':')[0])).toEqual(['apps/a/x.yaml', 'apps/z.yaml']);
    expect(r.stderr).toMatch(/2 images missing from the lock, nothing written/);
    expect(['apps/a/x.yaml', 'apps/a-b.yaml', 'apps/z.yaml'].map(before)).toEqual(texts);

    const { files } = await readInputs(['apps/z.yaml', 'apps'], { cwd: dir });
    const resolver = fakeResolver({ answers: { [missing]: new Error('gone') } });
    const failures = async (keptCandidates: number) => {
      let handed = 0;
      const summary = await pinEach(files, {
        rules: defaultRules(),
        resolver,
        keptCandidates,
        onFile: () => handed++,
      });
      expect(handed).toBe(0);
      expect(summary.files.some((f) => f.changed)).toBe(false);
      return summary.failures.map((f) => `${f.file}:${f.line}: ${f.reason}`);
    };
    const listed = await failures(0);
    expect(listed).toHaveLength(2);
    expect(await failures(10_000)).toEqual(listed);
  });
});
