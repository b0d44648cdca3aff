/**
 * The check / pin / policy commands end to end in-process: exit codes, output formats, what is
 * written (and what is not on failure), lock files, stdin.
 */
import { chmodSync, cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../support/cli.js';
import { fakeDigest } from '../support/fake-resolver.js';
import { CORPUS, CORPUS_IMAGES } from '../support/manifests.js';
import { removeTempDir, tempDirSync } from '../support/tmp.js';

const BAD = join(import.meta.dirname, '../fixtures/k8s/bad');
const root = tempDirSync('cli');
afterAll(() => removeTempDir(root));
let n = 0;
function workdir(...files: string[]): string {
  const dir = join(root, `w${n++}`);
  for (const f of files) cpSync(join(CORPUS, f), join(dir, f));
  return dir;
}
/** A build-output lock (REF@DIGEST lines) for every image of the corpus. */
function lockFor(dir: string, images = CORPUS_IMAGES): string {
  const file = join(dir, 'built.txt');
  writeFileSync(file, images.map((i) => `${i}@${fakeDigest(i)}`).join('\n'));
  return file;
}

describe('imgdigest check', () => {
  it('prints FILE:LINE:COL: KIND NAMESPACE/NAME: MESSAGE, a summary, and exits 1', async () => {
    const dir = workdir('commented.yaml', 'multi.yaml');
    const r = await runCli(['check', '-f', dir], { cwd: dir });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(
      `${join(dir, 'commented.yaml')}:24:18: Deployment prod/web: container <app> uses an image without a digest <registry.example.com/team/app:1.0>`,
    );
    expect(lines).toContain(
      `${join(dir, 'multi.yaml')}:49:24: DaemonSet kube-system/agent: volume <models> uses an image without a digest <registry.example.com/team/models:v2>`,
    );
    expect(lines).toHaveLength(7);
    expect(r.stderr).toBe(
      '7 violations in 4 objects (2 files, 4 objects checked, 1 non-Kubernetes document skipped)\n',
    );
  });

  it('exits 0 when clean, and honours exemptions, kinds and namespaces', async () => {
    const dir = workdir('commented.yaml');
    expect((await runCli(['check', '-f', dir, '--exclude-namespaces', 'prod'])).code).toBe(0);
    expect((await runCli(['check', '-f', dir, '--kinds', 'Pod,batch/Job'])).code).toBe(0);
    const r = await runCli([
      'check',
      '-f',
      dir,
      '--exempt-image',
      'registry.example.com/*',
      '--exempt-image',
      'busybox:1.36',
    ]);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toBe('0 violations in 0 objects (1 file, 1 object checked)\n');
  });

  it('reads a rules file', async () => {
    const dir = workdir('commented.yaml');
    writeFileSync(join(dir, 'rules.yaml'), "exemptImages: ['registry.example.com/*']\n");
    const r = await runCli([
      'check',
      '-f',
      join(dir, 'commented.yaml'),
      '--rules',
      join(dir, 'rules.yaml'),
      '--json',
    ]);
    expect(JSON.parse(r.stdout).findings.map((f: { image: string }) => f.image)).toEqual(['busybox:1.36']);
  });

  it('writes SARIF 2.1.0 with rule id and regions', async () => {
    const dir = workdir('flow.yaml');
    const r = await runCli(['check', '-f', 'flow.yaml', '--format', 'sarif'], { cwd: dir });
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].tool.driver.rules[0].id).toBe('image-digest-required');
    expect(sarif.runs[0].results[0]).toMatchObject({
      ruleId: 'image-digest-required',
      level: 'error',
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'flow.yaml' },
            region: { startLine: 1, startColumn: 91 },
          },
        },
      ],
    });
  });

  it('exits 2 naming file:line:column for invalid YAML, and refuses alias bombs', async () => {
    const r = await runCli(['check', '-f', join(BAD, 'invalid.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^imgdigest: ${join(BAD, 'invalid.yaml')}:\\d+:\\d+: invalid YAML`));
    const bomb = await runCli(['check', '-f', join(BAD, 'bomb.yaml')]);
    expect(bomb.code).toBe(2);
    expect(bomb.stderr).toMatch(/alias bomb/);
  });

  it('reports unreadable inputs one line each and still checks the rest (exit 2)', async () => {
    const dir = workdir('flow.yaml');
    writeFileSync(join(dir, 'binary.yaml'), Buffer.from([0, 1, 2]));
    const r = await runCli(['check', '-f', dir, '-f', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).toContain(`imgdigest: ${join(dir, 'binary.yaml')}: binary file`);
    expect(r.stderr).toContain(`imgdigest: ${join(dir, 'missing.yaml')}: no such file or directory`);
  });

  it('reads stdin for -f -', async () => {
    const text = readFileSync(join(CORPUS, 'pod.json'), 'utf8');
    const r = await runCli(['check', '-f', '-', '--json'], { stdin: text });
    const out = JSON.parse(r.stdout);
    expect(out.findings.map((f: { message: string }) => f.message)).toEqual([
      'container <app> uses an image without a digest <registry.example.com/team/app:1.0>',
      'ephemeralContainer <debug> uses an image without a digest <busybox:1.36>',
    ]);
    expect(out.findings[0]).toMatchObject({
      file: '<stdin>',
      line: 7,
      object: { kind: 'Pod', namespace: 'dev', name: 'json-pod' },
    });
  });
});

describe('imgdigest pin (offline, from a build-output lock)', () => {
  const app = 'registry.example.com/team/app:1.0';

  it('prints the pinned file to stdout by default and writes nothing', async () => {
    const dir = workdir('flow.yaml');
    const before = readFileSync(join(dir, 'flow.yaml'), 'utf8');
    const r = await runCli(['pin', '-f', 'flow.yaml', '--from-lock', lockFor(dir)], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      before
        .replace(app, `${app}@${fakeDigest(app)}`)
        .replace("'busybox:1.36'", `'busybox:1.36@${fakeDigest('busybox:1.36')}'`),
    );
    expect(readFileSync(join(dir, 'flow.yaml'), 'utf8')).toBe(before);
  });

  it('--write rewrites in place keeping the mode; a second run changes nothing; --check then exits 0', async () => {
    const dir = workdir('commented.yaml', 'multi.yaml', 'templated.yaml');
    chmodSync(join(dir, 'commented.yaml'), 0o640);
    const lock = lockFor(dir);
    const r = await runCli(['pin', '-f', dir, '--from-lock', lock, '--write'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/templated\.yaml:10: \{\{ \.Values\.image \}\}: not a literal reference/);
    expect(statSync(join(dir, 'commented.yaml')).mode & 0o777).toBe(0o640);
    const pinned = readFileSync(join(dir, 'commented.yaml'), 'utf8');
    expect(pinned).toContain(`"${app}@${fakeDigest(app)}" # double-quoted`);
    const again = await runCli(['pin', '-f', dir, '--from-lock', lock, '--write'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(readFileSync(join(dir, 'commented.yaml'), 'utf8')).toBe(pinned);
    expect((await runCli(['pin', '-f', dir, '--from-lock', lock, '--check'], { cwd: dir })).code).toBe(0);
    expect((await runCli(['check', '-f', join(dir, 'commented.yaml')], { cwd: dir })).code).toBe(0);
  });

  it('--check lists what would change and exits 1; --diff prints a unified diff', async () => {
    const dir = workdir('flow.yaml');
    const lock = lockFor(dir);
    const check = await runCli(['pin', '-f', 'flow.yaml', '--from-lock', lock, '--check'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stdout).toBe(
      `flow.yaml:1: ${app} -> ${app}@${fakeDigest(app)}\nflow.yaml:1: busybox:1.36 -> busybox:1.36@${fakeDigest('busybox:1.36')}\n`,
    );
    const diff = await runCli(['pin', '-f', 'flow.yaml', '--from-lock', lock, '--diff'], { cwd: dir });
    expect(diff.stdout).toMatch(/^--- a\/flow\.yaml\n\+\+\+ b\/flow\.yaml\n@@ -1 \+1 @@\n-\{apiVersion/);
  });

  it('fails with LOCK_MISSING (exit 3), lists every missing image and writes nothing', async () => {
    const dir = workdir('commented.yaml', 'flow.yaml');
    const lock = lockFor(dir, ['busybox:1.36']);
    const before = readFileSync(join(dir, 'commented.yaml'), 'utf8');
    const r = await runCli(['pin', '-f', dir, '--from-lock', lock, '--write'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `${join(dir, 'commented.yaml')}:20: registry.example.com/team/migrate:2.1: not in the lock`,
    );
    expect(r.stderr).toContain(`${join(dir, 'commented.yaml')}:24: ${app}: not in the lock`);
    expect(r.stderr).toContain(`${join(dir, 'flow.yaml')}:1: ${app}: not in the lock`);
    expect(r.stderr).toMatch(/imgdigest: 3 images missing from the lock, nothing written/);
    expect(readFileSync(join(dir, 'commented.yaml'), 'utf8')).toBe(before);
  });

  it('records a lock file that pins the same result offline', async () => {
    const dir = workdir('flow.yaml');
    const r = await runCli(
      ['pin', '-f', 'flow.yaml', '--from-lock', lockFor(dir), '--lock-file', 'images.lock'],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    const lock = parseAllDocuments(readFileSync(join(dir, 'images.lock'), 'utf8'))[0]!.toJS();
    expect(lock).toMatchObject({ apiVersion: 'imgdigest.dev/v1alpha1', kind: 'ImageLock' });
    expect(lock.images.map((i: { image: string }) => i.image)).toEqual([
      'docker.io/library/busybox:1.36',
      app,
    ]);
    expect(lock.images[1]).toMatchObject({ digest: fakeDigest(app), foundIn: ['flow.yaml:1'] });
    const again = await runCli(['pin', '-f', 'flow.yaml', '--from-lock', 'images.lock'], { cwd: dir });
    expect(again.stdout).toBe(r.stdout);
  });

  it('fails with WRITE_FAILED (exit 3) when the lock cannot be written, and changes no manifest', async () => {
    const dir = workdir('flow.yaml');
    const before = readFileSync(join(dir, 'flow.yaml'), 'utf8');
    // A path under a file: no permission bits involved, so it fails for root too.
    const r = await runCli(
      ['pin', '-f', 'flow.yaml', '--from-lock', lockFor(dir), '--lock-file', 'flow.yaml/images.lock', '-w'],
      { cwd: dir },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^imgdigest: cannot write .*flow\.yaml\/images\.lock: ENOTDIR/m);
    expect(readFileSync(join(dir, 'flow.yaml'), 'utf8')).toBe(before);
    const debug = await runCli(
      ['--debug', 'pin', '-f', 'flow.yaml', '--from-lock', lockFor(dir), '--lock-file', 'flow.yaml/x'],
      { cwd: dir },
    );
    expect(debug.stderr).toContain('WRITE_FAILED');
  });

  it('exits 2 for invalid YAML without resolving or writing anything', async () => {
    const r = await runCli([
      'pin',
      '-f',
      join(BAD, 'invalid.yaml'),
      '--from-lock',
      join(BAD, 'invalid.yaml'),
    ]);
    expect(r.code).toBe(2);
  });

  it('rejects contradictory modes', async () => {
    const r = await runCli(['pin', '-f', 'x', '--check', '--diff']);
    expect(r).toMatchObject({
      code: 2,
      stderr: 'imgdigest: --check changes nothing; it cannot be combined with --write or --diff\n',
    });
  });
});

describe('stdin, namespaces and files that are not manifests', () => {
  const app = 'registry.example.com/team/app:1.0';
  const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: ${app}}]\n`;

  it('names stdin <stdin> and shows objects without a namespace in --default-namespace', async () => {
    const r = await runCli(['check', '-f', '-', '--default-namespace', 'team-a'], { stdin: pod });
    expect(r.stdout).toBe(
      `<stdin>:5:33: Pod team-a/p: container <a> uses an image without a digest <${app}>\n`,
    );
    const dir = workdir('flow.yaml');
    const missing = await runCli(['pin', '-f', '-', '--from-lock', lockFor(dir, ['busybox:1.36'])], {
      stdin: pod,
    });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`<stdin>:5: ${app}: not in the lock\n`);
  });

  it('skips a Chart.yaml, a values file without image paths and random YAML with a note, and does not print them', async () => {
    const dir = workdir('flow.yaml');
    writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 1.0.0\n');
    writeFileSync(join(dir, 'values.yaml'), 'replicaCount: 2\nservice: {port: 80}\n');
    writeFileSync(join(dir, 'notes.yaml'), '- just\n- a list\n');
    const r = await runCli(['pin', '-f', '.', '--from-lock', lockFor(dir)], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      readFileSync(join(dir, 'flow.yaml'), 'utf8')
        .replace(app, `${app}@${fakeDigest(app)}`)
        .replace("'busybox:1.36'", `'busybox:1.36@${fakeDigest('busybox:1.36')}'`),
    );
    for (const f of ['Chart.yaml', 'notes.yaml', 'values.yaml'])
      expect(r.stderr).toContain(`imgdigest: note: ${f}: no Kubernetes object or image path, skipped\n`);
    const check = await runCli(['check', '-f', '.'], { cwd: dir });
    expect(check.stderr).toContain(
      'imgdigest: note: Chart.yaml: no Kubernetes object or image path, skipped\n',
    );
  });
});

describe('imgdigest policy export', () => {
  it('prints a Gatekeeper template and constraint, or a Kyverno policy', async () => {
    const gk = await runCli([
      'policy',
      'export',
      '--gatekeeper',
      '--exempt-image',
      'a*',
      '--namespaces',
      'prod',
    ]);
    const docs = parseAllDocuments(gk.stdout).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['ConstraintTemplate', 'K8sImageDigestsStrict']);
    expect(docs[1].spec.parameters.exemptImages).toEqual(['a*']);
    const ky = await runCli(['policy', 'export', '--kyverno', '--action', 'Audit']);
    const policy = parseAllDocuments(ky.stdout)[0]!.toJS();
    expect(policy.spec.validationFailureAction).toBeUndefined();
    for (const rule of policy.spec.rules) expect(rule.validate.failureAction).toBe('Audit');
    expect((await runCli(['policy', 'export'])).code).toBe(2);
  });
});
