/**
 * `pin --write` under attack: a rename that fails half-way, symlinks out of the tree, symlinked
 * files, hard links, read-only files and other owners. Every file is written or none is, and a
 * file that cannot be replaced without loss is refused before anything is written.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { fakeDigest } from '../support/fake-resolver.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

afterAll(cleanupTempDirs);

const APP = 'registry.example.com/team/app:1.0';
const pod = (name: string, image = APP) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n    - name: app\n      image: ${image}\n`;
const pinned = (name: string) => pod(name, `${APP}@${fakeDigest(APP)}`);

/** A work directory with manifests `name: podName`, a build-output lock for APP, and helpers. */
async function tree(files: Record<string, string>): Promise<{ dir: string; lock: string }> {
  const dir = await tempDir('pin-write');
  for (const [name, podName] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), pod(podName));
  }
  const lock = join(dir, 'built.txt');
  writeFileSync(lock, `${APP}@${fakeDigest(APP)}\n`);
  return { dir, lock };
}

const isRoot = process.geteuid?.() === 0;

describe('pin --write changes every file or none', () => {
  // An immutable file (chattr +i) cannot be renamed over, even by root: the second of three
  // renames fails for real, after the first file was already replaced.
  it.runIf(isRoot)(
    'puts back the files already replaced when a rename fails half-way (exit 3, one line naming the file)',
    async () => {
      const { dir, lock } = await tree({ 'a.yaml': 'a', 'b.yaml': 'b', 'c.yaml': 'c' });
      const before = ['a', 'b', 'c'].map((n) => statSync(join(dir, `${n}.yaml`)).ino);
      execFileSync('chattr', ['+i', join(dir, 'b.yaml')]);
      try {
        const r = await runCli(['pin', '-f', '.', '--from-lock', lock, '-w', '--lock-file', 'images.lock'], {
          cwd: dir,
        });
        expect(r.code).toBe(3);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^imgdigest: cannot write b\.yaml: EPERM: .*; nothing written\n$/);
      } finally {
        execFileSync('chattr', ['-i', join(dir, 'b.yaml')]);
      }
      for (const n of ['a', 'b', 'c']) expect(readFileSync(join(dir, `${n}.yaml`), 'utf8')).toBe(pod(n));
      expect(['a', 'b', 'c'].map((n) => statSync(join(dir, `${n}.yaml`)).ino)).toEqual(before);
      expect(
        execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).split('\n').filter(Boolean).sort(),
      ).toEqual(['a.yaml', 'b.yaml', 'built.txt', 'c.yaml']);
    },
  );
});

describe('pin --write stays in its tree', () => {
  it('skips a directory symlink that leads out of the tree, with a warning; --follow-symlinks follows it', async () => {
    const { dir, lock } = await tree({ 'app/web.yaml': 'web' });
    const outside = (await tree({ 'shared/db.yaml': 'db' })).dir;
    symlinkSync(join(outside, 'shared'), join(dir, 'app', 'shared'));
    const r = await runCli(['pin', '-f', 'app', '--from-lock', lock, '-w'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `imgdigest: warning: app/shared: symlink to ${realpathSync(join(outside, 'shared'))}, outside the tree: not followed (see --follow-symlinks)\n`,
    );
    expect(readFileSync(join(dir, 'app/web.yaml'), 'utf8')).toBe(pinned('web'));
    expect(readFileSync(join(outside, 'shared/db.yaml'), 'utf8')).toBe(pod('db'));

    const follow = await runCli(['pin', '-f', 'app', '--from-lock', lock, '-w', '--follow-symlinks'], {
      cwd: dir,
    });
    expect(follow.code).toBe(0);
    expect(readFileSync(join(outside, 'shared/db.yaml'), 'utf8')).toBe(pinned('db'));
    expect(lstatSync(join(dir, 'app', 'shared')).isSymbolicLink()).toBe(true);
  });

  it('edits a symlinked file through its link when the target is in the tree, and refuses one whose target is not', async () => {
    const { dir, lock } = await tree({ 'releases/v1.yaml': 'v1', 'other.yaml': 'other' });
    symlinkSync('releases/v1.yaml', join(dir, 'current.yaml'));
    const r = await runCli(['pin', '-f', 'current.yaml', '--from-lock', lock, '-w'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(lstatSync(join(dir, 'current.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'releases/v1.yaml'), 'utf8')).toBe(pinned('v1'));

    const outside = (await tree({ 'db.yaml': 'db' })).dir;
    symlinkSync(join(outside, 'db.yaml'), join(dir, 'db.yaml'));
    const refused = await runCli(['pin', '-f', 'db.yaml', '-f', 'other.yaml', '--from-lock', lock, '-w'], {
      cwd: dir,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `imgdigest: db.yaml: resolves to ${realpathSync(join(outside, 'db.yaml'))}, outside ${realpathSync(dir)} (a symlink: --follow-symlinks edits it through the link)\n` +
        'imgdigest: 1 file cannot be replaced safely (listed above), nothing written\n',
    );
    expect(readFileSync(join(outside, 'db.yaml'), 'utf8')).toBe(pod('db'));
    expect(readFileSync(join(dir, 'other.yaml'), 'utf8')).toBe(pod('other'));
    expect(lstatSync(join(dir, 'db.yaml')).isSymbolicLink()).toBe(true);
  });
});

describe('pin --write keeps what a file is, or refuses it', () => {
  it('refuses files with other hard links and read-only files, lists each, and writes nothing', async () => {
    const { dir, lock } = await tree({ 'a.yaml': 'a', 'linked.yaml': 'linked', 'ro.yaml': 'ro' });
    linkSync(join(dir, 'linked.yaml'), join(dir, 'elsewhere.yml.bak'));
    chmodSync(join(dir, 'ro.yaml'), 0o444);
    const r = await runCli(
      ['pin', '-f', 'a.yaml', '-f', 'linked.yaml', '-f', 'ro.yaml', '--from-lock', lock, '-w'],
      {
        cwd: dir,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'imgdigest: linked.yaml: has 2 hard links, which replacing it would break: make it a file of its own first (cp linked.yaml linked.yaml.new && mv linked.yaml.new linked.yaml)\n' +
        'imgdigest: ro.yaml: is read-only (mode 0444): make it writable first (chmod u+w ro.yaml)\n' +
        'imgdigest: 2 files cannot be replaced safely (listed above), nothing written\n',
    );
    for (const n of ['a', 'linked', 'ro']) expect(readFileSync(join(dir, `${n}.yaml`), 'utf8')).toBe(pod(n));
    expect(statSync(join(dir, 'linked.yaml')).nlink).toBe(2);
    expect(statSync(join(dir, 'ro.yaml')).mode & 0o777).toBe(0o444);
  });

  it.runIf(isRoot)('keeps the owner, group and mode of a file that belongs to another user', async () => {
    const { dir, lock } = await tree({ 'theirs.yaml': 'theirs' });
    chownSync(join(dir, 'theirs.yaml'), 4242, 4343);
    chmodSync(join(dir, 'theirs.yaml'), 0o640);
    const r = await runCli(['pin', '-f', 'theirs.yaml', '--from-lock', lock, '-w'], { cwd: dir });
    expect(r.code).toBe(0);
    const st = statSync(join(dir, 'theirs.yaml'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([4242, 4343, 0o640]);
    expect(readFileSync(join(dir, 'theirs.yaml'), 'utf8')).toBe(pinned('theirs'));
  });
});
