/**
 * @module cli/table
 * Plain aligned text tables for human output (no colours, no box drawing: pipes and grep work).
 */
import { escapeText } from '../core/terminal-text.js';

/** Cells are escaped (they may hold a registry's text: platforms, media types, annotations). */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(escapeText));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** 1536 -> "1.5 KiB". */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}
