/**
 * @module bench/lib/context
 * What every benchmark is handed: the mode (full or quick) and its sizes, where to put temporary
 * files, how to run the CLI, and a progress logger.
 */
import { join } from 'node:path';
import type { Recorder } from './results.js';

/** Sizes and round counts; `quick` shrinks everything so the whole run fits in two minutes. */
export interface Scale {
  /** Rounds of the resolve benchmark. */
  rounds: number;
  /** Rounds of everything that takes longer per round (processes, large files, load runs). */
  bigRounds: number;
  /** Concurrency of every resolver and of the ceiling loop. */
  concurrency: number;
  resolveRepos: number;
  tagsPerRepo: number;
  /** Images skopeo inspects per round (the rest is extrapolated). */
  skopeoSample: number;
  /** Images per round for the one-process-per-image benchmark. */
  cliImages: number;
  blobBytes: number;
  layerBytes: number;
  pinDocuments: number;
  pinImages: number;
  pinFiles: number;
  /** autocannon seconds per run. */
  webhookSeconds: number;
  /**
   * Rounds of the webhook benchmark: its three servers' rates move by a third between rounds on a
   * shared machine, so it takes more rounds than the others for a median to hold still.
   */
  webhookRounds: number;
  imageBytes: number;
  imageLayers: number;
  /** Seconds per manifest-HEAD rate run. */
  headSeconds: number;
  /** Repositories (of 10 tags) seeded for the manifest-HEAD rate. */
  headRepos: number;
  /** Run untimed warm-up rounds (page cache, JIT, process start) before measuring. */
  warmUp: boolean;
}

const MiB = 2 ** 20;

export const FULL: Scale = {
  rounds: 4,
  bigRounds: 3,
  concurrency: 8,
  resolveRepos: 200,
  tagsPerRepo: 10,
  skopeoSample: 50,
  cliImages: 20,
  blobBytes: 1024 * MiB,
  layerBytes: 500 * MiB,
  pinDocuments: 10_000,
  pinImages: 1_000,
  pinFiles: 100,
  webhookSeconds: 5,
  webhookRounds: 6,
  imageBytes: 1024 * MiB,
  imageLayers: 4,
  headSeconds: 4,
  headRepos: 10,
  warmUp: true,
};

export const QUICK: Scale = {
  rounds: 2,
  bigRounds: 2,
  concurrency: 8,
  resolveRepos: 20,
  tagsPerRepo: 10,
  skopeoSample: 4,
  cliImages: 3,
  blobBytes: 128 * MiB,
  layerBytes: 64 * MiB,
  pinDocuments: 1_000,
  pinImages: 100,
  pinFiles: 10,
  webhookSeconds: 1,
  webhookRounds: 2,
  imageBytes: 128 * MiB,
  imageLayers: 2,
  headSeconds: 1,
  headRepos: 3,
  // The inputs were just written and pushed, so they are in the page cache already.
  warmUp: false,
};

export interface BenchContext {
  quick: boolean;
  scale: Scale;
  /** The repository root. */
  root: string;
  /** A private temporary folder, removed at the end of the run. */
  tmp: string;
  /** Where RESULTS.md goes (`--out`, default bench/): plots are written beside it. */
  outDir: string;
  /** `[node, bin/imgdigest.js]`, or null when dist/ could not be built. */
  cli: string[] | null;
  log(line: string): void;
}

/** One benchmark: a script that fills its recorder. */
export interface Benchmark {
  id: string;
  title: string;
  run(ctx: BenchContext, rec: Recorder): Promise<void>;
}

export function cliCommand(root: string): string[] {
  return [process.execPath, join(root, 'bin', 'imgdigest.js')];
}
