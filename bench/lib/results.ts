/**
 * @module bench/lib/results
 * What a benchmark reports: measurements (samples per round, summarised as min/median/max),
 * ratios to the tools it is compared with, and checks against the performance targets (README
 * "Performance"). The report writer turns these into bench/RESULTS.md and bench/results.json.
 */

/** min/median/max of the samples of one measurement. */
export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
}

/** The summary of a list of samples (the median of an even count is the mean of the middle two). */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0, min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n, min: sorted[0]!, median, max: sorted[n - 1]! };
}

export interface Measurement {
  id: string;
  /** What was measured, for people: "imgdigest resolve (RegistryClient via createResolver)". */
  label: string;
  unit: string;
  /** Which way is better: the report says so next to the numbers. */
  better: 'higher' | 'lower';
  samples: number[];
  summary: Summary;
}

/**
 * One row of the summary: a ratio of two measurements' medians (ours / theirs), or a single
 * value checked against an absolute target (p99 latency, requests per tag).
 */
export interface Check {
  /** "imgdigest / ceiling (tags/s)". */
  label: string;
  /** The ratio, or the value itself for absolute checks. */
  value: number;
  /** How to print the value: "0.84×", "3.2 ms", "1.00 HEAD/tag". */
  valueText: string;
  ours?: string;
  theirs?: string;
  /** The target in words ("≥ 80% of the ceiling"); none when the benchmark only reports. */
  target?: string;
  /** True/false when there is a target; undefined when there is none. */
  met?: boolean;
}

export type BenchStatus = 'ran' | 'not run' | 'failed';

export interface BenchResult {
  id: string;
  title: string;
  status: BenchStatus;
  /** Why it did not run or failed. */
  reason?: string;
  /** Sizes, counts, concurrency, rounds. */
  params: Record<string, string | number>;
  measurements: Measurement[];
  checks: Check[];
  notes: string[];
  seconds: number;
}

/** Collects one benchmark's results while it runs. */
export class Recorder {
  readonly result: BenchResult;

  constructor(id: string, title: string) {
    this.result = {
      id,
      title,
      status: 'ran',
      params: {},
      measurements: [],
      checks: [],
      notes: [],
      seconds: 0,
    };
  }

  param(name: string, value: string | number): void {
    this.result.params[name] = value;
  }

  note(text: string): void {
    this.result.notes.push(text);
  }

  /** Record samples (one per round) under `id`. */
  measure(
    id: string,
    label: string,
    unit: string,
    better: 'higher' | 'lower',
    samples: number[],
  ): Measurement {
    const m: Measurement = { id, label, unit, better, samples, summary: summarize(samples) };
    const i = this.result.measurements.findIndex((x) => x.id === id);
    if (i >= 0) this.result.measurements[i] = m;
    else this.result.measurements.push(m);
    return m;
  }

  get(id: string): Measurement | undefined {
    return this.result.measurements.find((m) => m.id === id);
  }

  /**
   * Ratio of medians, ours / theirs. `atLeast` / `atMost` bound the ratio where there is a
   * target; without either the ratio is only reported.
   */
  ratio(
    oursId: string,
    theirsId: string,
    label: string,
    target?: { atLeast?: number; atMost?: number; text: string },
  ): Check | undefined {
    const ours = this.get(oursId);
    const theirs = this.get(theirsId);
    if (!ours || !theirs) return undefined;
    const value = ours.summary.median / theirs.summary.median;
    const check: Check = {
      label,
      value,
      valueText: `${formatNumber(value, 2)}×`,
      ours: oursId,
      theirs: theirsId,
    };
    if (target) {
      check.target = target.text;
      check.met = meets(value, target);
    }
    this.result.checks.push(check);
    return check;
  }

  /** A single value against an absolute target. */
  check(
    label: string,
    value: number,
    valueText: string,
    target?: { atLeast?: number; atMost?: number; below?: number; equals?: number; text: string },
  ): Check {
    const check: Check = { label, value, valueText };
    if (target) {
      check.target = target.text;
      check.met =
        meets(value, target) &&
        (target.below === undefined || value < target.below) &&
        (target.equals === undefined || Math.abs(value - target.equals) < 1e-9);
    }
    this.result.checks.push(check);
    return check;
  }
}

function meets(value: number, target: { atLeast?: number; atMost?: number }): boolean {
  if (!Number.isFinite(value)) return false;
  if (target.atLeast !== undefined && value < target.atLeast) return false;
  if (target.atMost !== undefined && value > target.atMost) return false;
  return true;
}

/** A number with at most `digits` decimals, trailing zeros kept for alignment. */
export function formatNumber(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(Math.min(digits, 1));
  return value.toFixed(digits);
}
