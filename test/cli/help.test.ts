/**
 * Help texts tell the same story as the README: every digest an example in `--help` shows is a
 * digest of the demo images (`imgdigest registry serve --demo`), so a user who runs the example
 * against the demo registry sees it, and a help text cannot keep a made-up or stale digest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/core/digest.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli } from '../support/cli.js';

/** Digests a help text may show although the demo registry does not hold them (none today). */
const NOT_IN_DEMO_ON_PURPOSE = new Set<string>();

/** Every command path (`digest`, `registry serve`, ...) from the help texts themselves. */
async function commandPaths(prefix: string[] = []): Promise<string[][]> {
  const help = await runCli([...prefix, '--help']);
  expect(help.code, help.stderr).toBe(0);
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help.stdout)?.[1] ?? '';
  const names = [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  const paths: string[][] = [];
  for (const name of names) {
    paths.push([...prefix, name]);
    paths.push(...(await commandPaths([...prefix, name])));
  }
  return paths;
}

describe('--help texts', () => {
  let reg: RunningRegistry;

  beforeAll(async () => {
    reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
  });
  afterAll(() => reg?.close());

  it('show only digests of the demo images, written out in full', async () => {
    const paths = await commandPaths();
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['digest', 'tag', 'registry serve']),
    );
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const path of [[], ...paths]) {
      const { stdout } = await runCli([...path, '--help']);
      // `sha256:...` (no hex) is notation; any hex after `sha256:` must be a whole, real digest.
      for (const m of stdout.matchAll(/sha256:([0-9a-f]+)(\.\.\.|…)?/g)) {
        const digest = `sha256:${m[1]}`;
        const where = `imgdigest ${path.join(' ')} --help`;
        if (m[1]!.length !== 64 || m[2]) problems.push(`${where}: ${m[0]} is not a whole digest`);
        else if (NOT_IN_DEMO_ON_PURPOSE.has(digest)) continue;
        else if ((await reg.registry.storage.blobSize(digest as Digest)) === null) {
          problems.push(`${where}: ${digest} is not in the demo registry`);
        } else seen.add(digest);
      }
    }
    expect(problems).toEqual([]);
    // The check has something to check: the help texts do show real digests.
    expect(seen.size).toBeGreaterThan(5);
  });
});
