/**
 * @module bench/servers/head-loop-process
 * The resolve ceiling as a process of its own: the same minimal undici keep-alive HEAD loop as
 * bench/lib/head-loop.ts, started fresh, so that `digest --from-file` (a fresh process, start-up
 * and a cold JIT included) can also be read against a bare loop that pays the same start:
 *
 *   node bench/servers/head-loop-process.js ORIGIN CONCURRENCY TARGETS_FILE ACCEPT
 *
 * TARGETS_FILE has one `path<TAB>authorization` line per HEAD (authorization may be empty; tokens
 * are fetched by the bench beforehand, and their time added to this process's). Prints
 * `ok failed` and exits 0 when every HEAD answered 200 with a Docker-Content-Digest.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const [origin, concurrencyText, targetsFile, accept] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const targets = readFileSync(targetsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [path, authorization] = line.split('\t');
    return { path, authorization };
  });
const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
let next = 0;
let ok = 0;
let failed = 0;
async function worker() {
  while (next < targets.length) {
    const t = targets[next++];
    const res = await pool.request({
      method: 'HEAD',
      path: t.path,
      reset: false,
      headers: t.authorization ? { accept, authorization: t.authorization } : { accept },
    });
    await res.body.dump();
    if (res.statusCode === 200 && res.headers['docker-content-digest']) ok++;
    else failed++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
await pool.close();
process.stdout.write(`${ok} ${failed}\n`);
process.exitCode = failed === 0 ? 0 : 1;
