/**
 * A registry stand-in for the profiling harnesses (client-cpu.ts, layers.ts): `GET /v2/` answers
 * `{}`, every other request a manifest's headers with a fixed digest and no body. It runs in a
 * child process of its own, so the client, not the server, is what a harness measures.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { parseReference } from '../../src/core/reference.js';
import { openResolver, type ResolverCacheOptions } from '../../src/resolver/open.js';
import { mapLimit } from '../lib/proc.js';

if (process.argv[2] === 'serve') {
  const { createServer } = await import('node:http');
  const srv = createServer((req, res) => {
    if (req.url === '/v2/') return res.end('{}');
    res.writeHead(200, {
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      'content-length': '512',
      'docker-content-digest': `sha256:${'a'.repeat(64)}`,
    });
    res.end();
  });
  srv.keepAliveTimeout = 60_000;
  srv.listen(0, '127.0.0.1', () => process.send!((srv.address() as { port: number }).port));
}

/** Start the stand-in; `host` is `127.0.0.1:PORT`, kill `child` when done. */
export async function startTrivialRegistry(): Promise<{ host: string; child: ChildProcess }> {
  const child = fork(new URL(import.meta.url).pathname, ['serve'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  return { host: `127.0.0.1:${port}`, child };
}

/** `n` tags over 100 repositories (the stand-in answers any of them). */
export function trivialTags(n: number): { repo: string; tag: string }[] {
  return Array.from({ length: n }, (_, i) => ({ repo: `app-${i % 100}`, tag: `t${i}` }));
}

/** Every tag once through a fresh resolver (8 at a time) with this answer cache, then closed. */
export async function resolveAll(
  host: string,
  tags: readonly { repo: string; tag: string }[],
  cache: ResolverCacheOptions,
): Promise<void> {
  const resolver = await openResolver({
    concurrency: 8,
    cache,
    registry: { concurrency: 8, anonymous: true },
  });
  try {
    await mapLimit(tags, 8, async (t) => {
      await resolver.resolve(parseReference(`${host}/${t.repo}:${t.tag}`));
    });
  } finally {
    await resolver.close();
  }
}
