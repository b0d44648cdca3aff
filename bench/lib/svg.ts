/**
 * @module bench/lib/svg
 * The scale benchmark's plot, drawn by hand (no plotting dependency): one panel per curve, time
 * and peak RSS against the size of the work on log-log axes, with a dashed line for linear growth
 * from the first point (time) so "linear" and "worse than linear" can be told apart at a glance.
 */
import { writeFile } from 'node:fs/promises';

export interface CurvePoint {
  /** The size of the work (documents, tags, MiB). */
  x: number;
  label: string;
  seconds: number;
  rssMiB: number;
}

export interface Curve {
  id: string;
  label: string;
  unit: string;
  points: CurvePoint[];
}

const PANEL_W = 340;
const PANEL_H = 220;
const PAD = { left: 52, right: 52, top: 34, bottom: 38 };
const COLS = 2;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toPrecision(2);
}

/** Log-scale mapping of [min, max] (padded a little) onto [a, b]. */
function logScale(values: number[], a: number, b: number): (v: number) => number {
  const lo = Math.log10(Math.min(...values) / 1.3);
  const hi = Math.log10(Math.max(...values) * 1.3);
  return (v) => a + ((Math.log10(v) - lo) / (hi - lo || 1)) * (b - a);
}

function panel(curve: Curve, ox: number, oy: number): string {
  const pts = curve.points.filter((p) => p.x > 0 && p.seconds > 0 && p.rssMiB > 0);
  const x0 = ox + PAD.left;
  const x1 = ox + PANEL_W - PAD.right;
  const y0 = oy + PANEL_H - PAD.bottom;
  const y1 = oy + PAD.top;
  const out: string[] = [
    `<rect x="${ox + 0.5}" y="${oy + 0.5}" width="${PANEL_W - 1}" height="${PANEL_H - 1}" fill="#fff" stroke="#ccc"/>`,
    `<text x="${ox + PANEL_W / 2}" y="${oy + 18}" text-anchor="middle" font-weight="bold">${esc(curve.label)}</text>`,
    `<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#888"/>`,
    `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#1f77b4"/>`,
    `<line x1="${x1}" y1="${y0}" x2="${x1}" y2="${y1}" stroke="#d62728"/>`,
  ];
  if (pts.length === 0) return out.join('\n');
  const first = pts[0]!;
  const linear = pts.map((p) => (first.seconds * p.x) / first.x);
  const sx = logScale(
    pts.map((p) => p.x),
    x0 + 12,
    x1 - 12,
  );
  const st = logScale([...pts.map((p) => p.seconds), ...linear], y0, y1);
  const sr = logScale(
    pts.map((p) => p.rssMiB),
    y0,
    y1,
  );
  const poly = (ys: number[], color: string, dash = '') =>
    `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts
      .map((p, i) => `${sx(p.x).toFixed(1)},${ys[i]!.toFixed(1)}`)
      .join(' ')}"/>`;
  out.push(poly(linear.map(st), '#9ecae1', '5,4'));
  out.push(
    poly(
      pts.map((p) => st(p.seconds)),
      '#1f77b4',
    ),
  );
  out.push(
    poly(
      pts.map((p) => sr(p.rssMiB)),
      '#d62728',
    ),
  );
  for (const p of pts) {
    const x = sx(p.x);
    out.push(`<circle cx="${x.toFixed(1)}" cy="${st(p.seconds).toFixed(1)}" r="3" fill="#1f77b4"/>`);
    out.push(`<circle cx="${x.toFixed(1)}" cy="${sr(p.rssMiB).toFixed(1)}" r="3" fill="#d62728"/>`);
    out.push(
      `<text x="${x.toFixed(1)}" y="${y0 + 14}" text-anchor="middle">${esc(p.label.split(' ')[0]!)}</text>`,
    );
    out.push(
      `<text x="${x0 - 4}" y="${st(p.seconds).toFixed(1)}" text-anchor="end" fill="#1f77b4">${fmt(p.seconds)}</text>`,
    );
    out.push(`<text x="${x1 + 4}" y="${sr(p.rssMiB).toFixed(1)}" fill="#d62728">${fmt(p.rssMiB)}</text>`);
  }
  out.push(`<text x="${ox + PANEL_W / 2}" y="${y0 + 30}" text-anchor="middle">${esc(curve.unit)}</text>`);
  out.push(`<text x="${ox + 6}" y="${y1 - 6}" fill="#1f77b4">s</text>`);
  out.push(`<text x="${x1 + 4}" y="${y1 - 6}" fill="#d62728">MiB</text>`);
  return out.join('\n');
}

/** Write the plot of `curves` to `path`. */
export async function writeScaleSvg(path: string, curves: Curve[]): Promise<void> {
  const rows = Math.ceil(curves.length / COLS);
  const width = COLS * PANEL_W;
  const height = rows * PANEL_H + 30;
  const body = curves.map((c, i) => panel(c, (i % COLS) * PANEL_W, 30 + Math.floor(i / COLS) * PANEL_H));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">
<rect width="${width}" height="${height}" fill="#fafafa"/>
<text x="8" y="20" font-size="13">imgdigest scale curves (log-log): <tspan fill="#1f77b4">time (s)</tspan>, <tspan fill="#d62728">peak RSS (MiB)</tspan>, <tspan fill="#6baed6">dashed: linear time from the first point</tspan></text>
${body.join('\n')}
</svg>
`;
  await writeFile(path, svg);
}
