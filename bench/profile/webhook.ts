/**
 * Profiling harness (not part of `npm run bench`): CPU time per request of the webhook and of the
 * bare https server, in processes of their own under autocannon, rounds interleaved. Each variant
 * is a folder holding a built `dist/` (this checkout's by default), so two builds can be compared:
 *
 *   node --import tsx bench/profile/webhook.ts [--seconds 6] [--rounds 4] [--endpoint validate|mutate]
 *        [--variant NAME=DIR ...] [--node-arg ARG ...] [--references bare,parsing,minimal|none]
 *
 * The bare server (`bare`), the same server that also JSON.parses each review (`parsing`) and the
 * least webhook that parses, decides, answers, counts and logs (`minimal`) run beside the variants. `--node-arg` is passed to every webhook child (e.g. `--cpu-prof`, `--cpu-prof-dir=/tmp/p`), `--bare-arg`
 * to the bare server's.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { generateCertificates, writeCertificates } from '../../src/webhook/certs.js';
import { reviewBody } from '../cases/webhook.js';
import { type ServerChild, startServerChild } from '../lib/proc.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '4' },
    endpoint: { type: 'string', default: 'validate' },
    variant: { type: 'string', multiple: true, default: [] },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'bare-arg': { type: 'string', multiple: true, default: [] },
    cpu: { type: 'string' },
    references: { type: 'string', default: 'bare,parsing,minimal' },
  },
});
const seconds = Number(values.seconds);
/** `--cpu N`: every server on CPU N alone (`taskset`); run the harness with `taskset -c M` too. */
const serve = (args: string[]): [string, string[]] =>
  values.cpu === undefined
    ? [process.execPath, args]
    : ['taskset', ['-c', values.cpu, process.execPath, ...args]];
const rounds = Number(values.rounds);
const endpoint = values.endpoint!;
const root = resolve(import.meta.dirname, '..', '..');
const variants = (values.variant!.length ? values.variant! : [`here=${root}`]).map((v) => {
  const [name, dir] = v.split('=') as [string, string];
  return { name, dir: resolve(dir) };
});

/** CPU time (user + system, µs) and minor page faults of a process so far. */
async function usage(pid: number): Promise<{ cpu: number; sys: number; faults: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    cpu: ((Number(f[11]) + Number(f[12])) * 1_000_000) / 100,
    sys: (Number(f[12]) * 1_000_000) / 100,
    faults: Number(f[7]),
  };
}

const body = reviewBody();

const tmp = await mkdtemp(join(tmpdir(), 'whprof-'));
await writeCertificates(
  tmp,
  await generateCertificates({ service: 'w', namespace: 'b', extraNames: ['127.0.0.1'] }),
);
const cert = join(tmp, 'tls.crt');
const key = join(tmp, 'tls.key');
const servers: { name: string; child: ServerChild }[] = [];
let answer = '';
for (const v of variants) {
  const child = await startServerChild(
    ...serve([...values['node-arg']!, join(v.dir, 'bench', 'servers', 'child.js'), 'webhook', cert, key]),
  );
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  const res = await request(`${child.info.url}/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    dispatcher,
  });
  const text = await res.body.text();
  await dispatcher.close();
  if (answer && text !== answer) console.error(`${v.name} answers differently:\n${text}\n${answer}`);
  answer = text;
  servers.push({ name: v.name, child });
}
const answerFile = join(tmp, 'answer.json');
await writeFile(answerFile, answer);
for (const mode of values.references!.split(',').filter((m) => m !== '' && m !== 'none')) {
  servers.push({
    name: mode,
    child: await startServerChild(
      ...serve([
        ...values['bare-arg']!,
        join(root, 'bench', 'servers', 'child.js'),
        mode,
        cert,
        key,
        ...(mode === 'minimal' ? [] : [answerFile, answerFile]),
      ]),
    ),
  });
}

const load = (url: string, duration: number) =>
  autocannon({
    url,
    method: 'POST',
    connections: 8,
    duration,
    headers: { 'content-type': 'application/json' },
    body,
  });
for (const s of servers) await load(`${s.child.info.url}/${endpoint}`, 3); // warm-up
const add = (to: Record<string, number[]>, name: string, value: number) => {
  to[name] = [...(to[name] ?? []), value];
};
const cpu: Record<string, number[]> = {};
const faults: Record<string, number[]> = {};
const counts: Record<string, number[]> = {};
const sys: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...servers].reverse() : servers;
  for (const s of order) {
    const u0 = await usage(s.child.pid);
    const out = await load(`${s.child.info.url}/${endpoint}`, seconds);
    const u1 = await usage(s.child.pid);
    if (out.non2xx || out.errors) console.error(`${s.name}: ${out.non2xx} non-2xx, ${out.errors} errors`);
    const n = out.requests.total;
    add(cpu, s.name, (u1.cpu - u0.cpu) / n);
    add(faults, s.name, (u1.faults - u0.faults) / n);
    add(counts, s.name, n);
    add(sys, s.name, (u1.sys - u0.sys) / n);
  }
  console.log(
    `round ${r + 1}: ${Object.entries(cpu)
      .map(
        ([n, v]) =>
          `${n} ${v.at(-1)!.toFixed(1)} µs (sys ${sys[n]!.at(-1)!.toFixed(1)}) ${faults[n]!.at(-1)!.toFixed(2)} faults ${counts[n]!.at(-1)} requests`,
      )
      .join('  ')} per request`,
  );
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(
  `median µs/request (${endpoint}): ${Object.entries(cpu)
    .map(([n, v]) => `${n} ${median(v).toFixed(1)} (min ${Math.min(...v).toFixed(1)})`)
    .join('  ')}`,
);
for (const s of servers) await s.child.stop();
