/**
 * The in-process harnesses' timing (admission.ts, frame.ts): each variant's loop run once a round,
 * the order reversed every other round so that no variant always follows the same one, and each
 * variant's fastest round kept (a loop's minimum moves far less than its mean on this machine).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

/** `--rounds N` (default 12) and `--iterations N` (default 20,000) from the command line. */
export function loopOptions(): { rounds: number; iterations: number } {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '12' },
      iterations: { type: 'string', default: '20000' },
    },
  });
  return { rounds: Number(values.rounds), iterations: Number(values.iterations) };
}

/** µs per iteration of each variant's fastest round; `loop` runs `iterations` iterations of one. */
export async function fastestRounds(
  names: readonly string[],
  rounds: number,
  iterations: number,
  loop: (name: string) => Promise<void>,
): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const t0 = performance.now();
      await loop(name);
      const us = ((performance.now() - t0) * 1000) / iterations;
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, us);
    }
  }
  return best;
}

/** `name 1.23 µs  name 4.56 µs`. */
export function formatMicros(best: Record<string, number>): string {
  return Object.entries(best)
    .map(([n, us]) => `${n} ${us.toFixed(2)} µs`)
    .join('  ');
}
