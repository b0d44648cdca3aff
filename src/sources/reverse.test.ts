import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages } from '../builder/index.js';
import { parseReference } from '../core/reference.js';
import { startRegistry } from '../registry-server/index.js';
import { loadImageSet } from '../registry-server/load.js';
import { RegistryClient } from './registry/index.js';
import { tagsForDigest } from './reverse.js';

const A = `sha256:${'a'.repeat(64)}` as const;
const B = `sha256:${'b'.repeat(64)}` as const;

describe('tagsForDigest', () => {
  it('answers from the manifest map a Google registry sends with the tag list, with no HEAD per tag', async () => {
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/v2/') return res.writeHead(200).end();
      if (req.url?.startsWith('/v2/proj/app/tags/list')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            name: 'proj/app',
            tags: ['v1', 'v2', 'latest'],
            manifest: { [A]: { tag: ['v1', 'latest'], imageSizeBytes: '1' }, [B]: { tag: ['v2'] } },
          }),
        );
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const client = new RegistryClient({ anonymous: true });
    try {
      const source = client.openSource(parseReference(`127.0.0.1:${port}/proj/app`));
      expect(await tagsForDigest(source, A)).toEqual(['latest', 'v1']);
      expect(seen.filter((r) => r.startsWith('HEAD'))).toEqual([]);
    } finally {
      await client.close();
      server.close();
    }
  });

  describe('on a registry without the map', () => {
    let registry: Awaited<ReturnType<typeof startRegistry>>;
    let indexDigest: `${string}:${string}`;
    beforeAll(async () => {
      registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
      const set = await buildSampleImages('rev');
      indexDigest = set.tags['1.0']!;
      await loadImageSet(registry.registry, 'rev/app', set);
    });
    afterAll(() => registry.close());

    it('asks each tag with a HEAD and keeps those that match', async () => {
      const client = new RegistryClient({ anonymous: true });
      try {
        const source = client.openSource(parseReference(`${registry.host}/rev/app`));
        expect(await tagsForDigest(source, indexDigest, { concurrency: 2 })).toEqual(['1.0', 'latest']);
        expect(await tagsForDigest(source, A)).toEqual([]);
      } finally {
        await client.close();
      }
    });
  });
});
