import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { hostPlatform } from '../../src/core/platform.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli, silentContext } from '../support/cli.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

/**
 * Commands without --json, and why: their output is data in a format of its own (bytes, YAML, a
 * ResourceList, a script), a transcript, a server's log, or a confirmation line.
 */
const OWN_FORMAT: Record<string, string> = {
  manifest: 'the manifest bytes as served (JSON already)',
  config: 'the config blob as stored (JSON already)',
  blob: 'the blob bytes',
  'krm check': 'a KRM ResourceList',
  'krm pin': 'a KRM ResourceList',
  'policy export': 'Kubernetes YAML',
  'webhook manifests': 'Kubernetes YAML',
  'webhook serve': 'a server: JSON log lines',
  'registry serve': 'a server',
  explore: 'a server',
  demo: 'a transcript of other commands',
  completion: 'a shell script',
  login: 'a confirmation line',
  logout: 'a confirmation line',
};

const ctx = silentContext();

function leaves(cmd: Command, path: string[] = []): string[] {
  return cmd.commands.flatMap((sub) => {
    const here = [...path, sub.name()];
    return sub.commands.length > 0 ? leaves(sub, here) : [here.join(' ')];
  });
}

afterAll(cleanupTempDirs);

describe('--json', () => {
  it('is on every command that prints results; the others print a format of their own', async () => {
    const program = await buildProgram(ctx);
    const find = (path: string) =>
      path
        .split(' ')
        .reduce<Command | undefined>((c, name) => c?.commands.find((s) => s.name() === name), program);
    for (const path of leaves(program)) {
      const hasJson = find(path)!.options.some((o) => o.long === '--json');
      expect(hasJson || path in OWN_FORMAT, `${path}: --json, or a reason in OWN_FORMAT`).toBe(true);
      expect(hasJson && path in OWN_FORMAT, `${path} has --json now: drop it from OWN_FORMAT`).toBe(false);
    }
  });

  describe('field names', () => {
    let registry: RunningRegistry;
    let app: string;
    beforeAll(async () => {
      registry = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
      app = `${registry.host}/sample/app`;
    });
    afterAll(() => registry?.close());

    async function json(args: string[]): Promise<Record<string, unknown>> {
      const r = await runCli([...args, '--json']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    }

    it('reference: what the output is about, as given', async () => {
      const ref = `${app}:1.0`;
      for (const args of [
        ['digest', ref],
        ['index', ref],
        ['inspect', ref],
        ['referrers', ref],
        ['ratelimit', ref],
        ['ref', ref],
        ['tags', app],
      ]) {
        expect((await json(args)).reference, args[0]).toBe(args[1]);
      }
      // tag: the output is about the tag it set; SRC is `source`.
      expect(await json(['tag', ref, 'copy'])).toMatchObject({ source: ref, reference: `${app}:copy` });
    });

    it('digest and mediaType: the same names for the same things', async () => {
      const ref = `${app}:1.0`;
      const digest = (await json(['digest', ref])).digest as string;
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      for (const args of [
        ['index', ref],
        ['inspect', ref],
        ['tag', ref, 'again'],
      ]) {
        expect(await json(args), args[0]).toMatchObject({
          digest,
          mediaType: 'application/vnd.oci.image.index.v1+json',
        });
      }
    });

    it('platform: {os, architecture, variant?}, null where there is none', async () => {
      const ref = `${app}:1.0`;
      expect((await json(['digest', ref])).platform).toBeNull();
      expect((await json(['digest', '-p', 'linux/arm/v7', ref])).platform).toEqual({
        os: 'linux',
        architecture: 'arm',
        variant: 'v7',
      });
      const index = await json(['index', ref]);
      expect((index.manifests as Array<{ platform: unknown }>).map((m) => m.platform)).toEqual([
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
        { os: 'unknown', architecture: 'unknown' },
      ]);
      const inspect = await json(['inspect', '-p', 'linux/arm64', ref]);
      expect(inspect.platforms).toEqual([
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ]);
      expect((inspect.image as { platform: unknown }).platform).toEqual({
        os: 'linux',
        architecture: 'arm64',
      });
      expect((await json(['version'])).platform).toEqual(hostPlatform());
    });

    it('webhook certs: the files written and the certificate', async () => {
      const out = await tempDir('json-certs');
      const certs = await json(['webhook', 'certs', '--service', 'hook', '--namespace', 'ns', '--out', out]);
      expect(certs).toMatchObject({ directory: out, caReused: false });
      expect((certs.files as string[]).map((f) => f.slice(out.length + 1)).sort()).toEqual([
        'ca.crt',
        'ca.key',
        'caBundle',
        'tls.crt',
        'tls.key',
      ]);
      expect(certs.names).toContain('hook.ns.svc');
      expect(Date.parse(certs.notAfter as string)).toBeGreaterThan(Date.now());
    });
  });
});
