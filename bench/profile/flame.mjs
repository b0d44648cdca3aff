// Draw a flame graph (SVG) of a .cpuprofile (`node --cpu-prof`): each box a function in its call
// stack, as wide as the time spent in it and below it; idle time and the profiler's own root are
// left out. Colour says whose code it is: imgdigest (dist/, src/), Node's own (node:), packages
// (node_modules/), native and V8 (GC, program). Hover a box for its name, place and share.
// Usage: node flame.mjs FILE.cpuprofile OUT.svg [title]
import { readFileSync, writeFileSync } from 'node:fs';

const [file, out, title = file] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write('usage: node flame.mjs FILE.cpuprofile OUT.svg [title]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, { ...n, self: 0, total: 0 }]));
for (let i = 0; i < prof.samples.length; i++) {
  const node = byId.get(prof.samples[i]);
  if (node) node.self += prof.timeDeltas[i] ?? 0;
}
const SKIP = new Set(['(idle)', '(root)']);
const root = byId.get(prof.nodes[0].id);
const totalOf = (n) => {
  n.total =
    (SKIP.has(n.callFrame.functionName) ? 0 : n.self) +
    (n.children ?? []).reduce((sum, id) => sum + totalOf(byId.get(id)), 0);
  return n.total;
};
totalOf(root);

const WIDTH = 1600;
const ROW = 17;
const MIN_PX = 0.5;
const boxes = [];
let depthMax = 0;
const place = (n, x, depth) => {
  let cx = x;
  const kids = (n.children ?? []).map((id) => byId.get(id)).filter((k) => k.total > 0);
  kids.sort((a, b) => a.callFrame.functionName.localeCompare(b.callFrame.functionName));
  for (const k of kids) {
    const w = (k.total / root.total) * WIDTH;
    if (w >= MIN_PX) {
      boxes.push({ n: k, x: cx, w, depth });
      depthMax = Math.max(depthMax, depth);
      place(k, cx, depth + 1);
    }
    cx += w;
  }
};
place(root, 0, 0);

const esc = (s) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const where = (cf) => {
  const url = cf.url.replace(/^file:\/\/.*?\/(dist|src|node_modules|bench)\//, '$1/');
  return url ? `${url}:${cf.lineNumber + 1}` : '';
};
const colour = (cf) => {
  const url = cf.url;
  if (/\/(dist|src)\//.test(url) && !url.includes('node_modules')) return '#6b9bd1';
  if (url.startsWith('node:')) return '#8cc084';
  if (url.includes('node_modules')) return '#e3a857';
  return '#bbbbbb';
};
const top = 40;
const height = top + (depthMax + 1) * ROW + 30;
const lines = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
  `<rect width="100%" height="100%" fill="#ffffff"/>`,
  `<text x="8" y="18" font-size="14">${esc(title)}</text>`,
  `<text x="8" y="34" fill="#555">${(root.total / 1000).toFixed(0)} ms of CPU sampled (idle left out); blue imgdigest, green Node, orange packages, grey native and V8</text>`,
];
for (const { n, x, w, depth } of boxes) {
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  const share = ((n.total / root.total) * 100).toFixed(1);
  const y = top + depth * ROW;
  const label = w > 40 ? esc(name.slice(0, Math.floor((w - 6) / 6.2))) : '';
  lines.push(
    `<g><title>${esc(`${name} ${where(cf)} ${share}%`)}</title><rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(w - 0.5, 0.5).toFixed(1)}" height="${ROW - 1}" fill="${colour(cf)}"/>` +
      (label ? `<text x="${(x + 3).toFixed(1)}" y="${y + 12}">${label}</text>` : '') +
      '</g>',
  );
}
lines.push('</svg>');
writeFileSync(out, `${lines.join('\n')}\n`);
process.stdout.write(`${out}: ${boxes.length} boxes, ${depthMax + 1} levels\n`);
