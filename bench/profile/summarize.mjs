// Summarise a .cpuprofile: self time per function and per file (top N). Usage: node summarize.mjs FILE [N]
import { readFileSync } from 'node:fs';

const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const n = Number(process.argv[3] ?? 30);
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++)
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const fn = new Map(),
  file = new Map();
let total = 0;
for (const [id, t] of self) {
  const cf = byId.get(id).callFrame;
  const url = cf.url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/');
  const k = `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + t);
  const f = url || cf.functionName;
  file.set(f, (file.get(f) ?? 0) + t);
  total += t;
}
const top = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, t]) =>
        `${((t / total) * 100).toFixed(1).padStart(5)}% ${(t / 1000).toFixed(0).padStart(6)}ms ${k}`,
    )
    .join('\n');
console.log(`total ${(total / 1000).toFixed(0)} ms\n-- by function\n${top(fn)}\n-- by file\n${top(file)}`);
