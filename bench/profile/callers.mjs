// Who calls a function in a .cpuprofile: total time (self + children) of every stack through
// functions named NAME, grouped by their chain of callers. Usage: node callers.mjs FILE NAME [depth]
import { readFileSync } from 'node:fs';

const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const name = process.argv[3];
const depth = Number(process.argv[4] ?? 6);
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
for (let i = 0; i < prof.samples.length; i++)
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const label = (n) =>
  `${n.callFrame.functionName || '(anon)'}@${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
const groups = new Map();
for (const [id, t] of self) {
  let cur = id;
  let hit = null;
  while (cur !== undefined) {
    if (byId.get(cur).callFrame.functionName === name) {
      hit = cur;
    }
    cur = parent.get(cur);
  }
  if (hit === null) continue;
  const chain = [];
  let p = hit;
  for (let i = 0; i < depth && p !== undefined; i++) {
    chain.push(label(byId.get(p)));
    p = parent.get(p);
  }
  const k = chain.join(' <- ');
  groups.set(k, (groups.get(k) ?? 0) + t);
}
for (const [k, t] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`${(t / 1000).toFixed(0).padStart(6)}ms ${k}`);
