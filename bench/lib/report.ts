/**
 * @module bench/lib/report
 * Write bench/RESULTS.md (for people and for the README to quote) and bench/results.json (every
 * sample, for tools) from one run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MachineInfo } from './machine.js';
import { type BenchResult, type Check, formatNumber, type Measurement } from './results.js';

export interface RunReport {
  mode: 'full' | 'quick';
  command: string;
  machine: MachineInfo;
  /** Facts about the run itself (build of dist/, partial selection). */
  notes: string[];
  results: BenchResult[];
  seconds: number;
  /**
   * Hand-written analysis (bench/ANALYSIS.md: what each change gained, the profiles behind the
   * targets missed), put after the summary so it is read with the numbers it explains.
   */
  analysis?: string;
}

function verdict(check: Check): string {
  if (check.met === undefined) return 'reported';
  return check.met ? 'met' : '**target missed**';
}

function measurementRow(m: Measurement): string {
  const digits = m.summary.median >= 100 ? 0 : m.summary.median >= 10 ? 1 : 2;
  const f = (v: number) => formatNumber(v, digits);
  return `| ${m.label} | ${m.unit} (${m.better} is better) | ${f(m.summary.min)} | ${f(m.summary.median)} | ${f(m.summary.max)} | ${m.summary.n} |`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function renderMarkdown(report: RunReport): string {
  const { machine } = report;
  const lines: string[] = [];
  lines.push('# imgdigest benchmarks', '');
  lines.push(
    `Produced by \`${report.command}\` on ${machine.date.slice(0, 10)} (${report.mode} mode, ${Math.round(report.seconds)} s).` +
      (report.mode === 'quick'
        ? ' Quick mode uses smaller inputs and fewer rounds than the full run; run `npm run bench` for the full sizes.'
        : ''),
    '',
  );
  lines.push(
    `> **This machine is shared and noisy**: other jobs use the same ${machine.cores} cores (load average when the run` +
      ` started: ${machine.loadAverage.join(', ')}). Each round measures the tools one after another under the same load,` +
      ' so the **ratios** are what to read; absolute times and rates say little about another machine.',
    '',
  );
  lines.push('## Machine and tools', '', '| | |', '| --- | --- |');
  lines.push(`| CPU | ${machine.cpu} |`);
  lines.push(`| cores | ${machine.cores} |`);
  lines.push(`| memory | ${machine.memoryGiB} GiB |`);
  lines.push(`| OS | ${machine.platform} |`);
  lines.push(`| Node | ${machine.node} |`);
  lines.push(`| imgdigest | ${machine.imgdigest.version} (${machine.imgdigest.commit}) |`);
  for (const [tool, version] of Object.entries(machine.tools)) lines.push(`| ${tool} | ${cell(version)} |`);
  lines.push('');
  for (const note of report.notes) lines.push(`- ${note}`);
  if (report.notes.length > 0) lines.push('');

  lines.push('## Summary', '');
  lines.push('Ratios are of medians, imgdigest first (`imgdigest / other`).', '');
  lines.push('| benchmark | comparison | result | target | verdict |', '| --- | --- | --- | --- | --- |');
  for (const r of report.results) {
    if (r.status !== 'ran') {
      lines.push(`| ${r.title} | — | ${r.status}: ${cell(r.reason ?? '')} | — | — |`);
      continue;
    }
    for (const c of r.checks) {
      lines.push(
        `| ${r.title} | ${cell(c.label)} | ${c.valueText} | ${cell(c.target ?? 'report only')} | ${verdict(c)} |`,
      );
    }
  }
  lines.push('');
  if (report.analysis) lines.push(report.analysis.trim(), '');

  report.results.forEach((r, i) => {
    lines.push(`## ${i + 1}. ${r.title}`, '');
    if (r.status !== 'ran') {
      lines.push(`**${r.status}**: ${r.reason ?? ''}`, '');
      for (const note of r.notes) lines.push(`- ${note}`);
      if (r.notes.length > 0) lines.push('');
      return;
    }
    const params = Object.entries(r.params).map(
      ([k, v]) => `${k}: ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`,
    );
    if (params.length > 0)
      lines.push(`Parameters: ${params.join('; ')}. Took ${Math.round(r.seconds)} s.`, '');
    lines.push(
      '| measurement | unit | min | median | max | n |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
    );
    for (const m of r.measurements) lines.push(measurementRow(m));
    lines.push('');
    if (r.checks.length > 0) {
      lines.push('| comparison | result | target | verdict |', '| --- | --- | --- | --- |');
      for (const c of r.checks)
        lines.push(
          `| ${cell(c.label)} | ${c.valueText} | ${cell(c.target ?? 'report only')} | ${verdict(c)} |`,
        );
      lines.push('');
    }
    for (const note of r.notes) lines.push(`- ${note}`);
    if (r.notes.length > 0) lines.push('');
  });
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Write RESULTS.md and results.json into `dir`. */
export async function writeReport(dir: string, report: RunReport): Promise<string[]> {
  const md = join(dir, 'RESULTS.md');
  const json = join(dir, 'results.json');
  await mkdir(dir, { recursive: true });
  await writeFile(md, renderMarkdown(report));
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  return [md, json];
}
