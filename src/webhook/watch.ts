/**
 * @module webhook/watch
 * Notice when mounted files change (the TLS pair, the rules ConfigMap) without a restart.
 *
 * Kubernetes updates Secret and ConfigMap volumes by writing a new timestamped folder and swapping
 * the `..data` symlink the visible files point through, so the files' own inodes never change
 * and a watch on the file misses it. We watch the FOLDER (the swap is a rename there), the folder
 * the symlinks lead to (a file rewritten in place behind them), and also poll, because fs.watch is unreliable on some filesystems (network mounts, overlayfs, inotify
 * limits). Either way the decision is made by comparing contents, so spurious events cost one
 * small read and nothing else; reads are asynchronous.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface WatchOptions {
  /** Poll interval in ms (default 5000; 0 disables polling). */
  pollMs?: number;
  /** Use fs.watch events (default true); polling alone also works, only slower. */
  fsWatch?: boolean;
  /** Wait this long after an event before reading, so a burst of writes is read once (default 50). */
  debounceMs?: number;
  /** Told about read errors and fs.watch failures (the watcher keeps going). */
  onError?: (error: Error) => void;
}

/**
 * Called with the new contents of every file, in order. Return false to refuse them (say, a
 * certificate written before its key): the next check offers the then-current contents again.
 */
export type ChangeHandler = (contents: Buffer[]) => boolean | Promise<boolean>;

/** Watches a set of files and reports when their contents change. */
export class ContentWatcher {
  readonly #paths: string[];
  readonly #onChange: ChangeHandler;
  readonly #options: Required<Omit<WatchOptions, 'onError'>> & Pick<WatchOptions, 'onError'>;
  readonly #watchers = new Map<string, FSWatcher>();
  #baseline: Buffer[];
  #refused: Buffer[] | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  /** `initial` is what is in use now (the change handler is called only when the files differ). */
  constructor(paths: string[], initial: Buffer[], onChange: ChangeHandler, options: WatchOptions = {}) {
    this.#paths = paths;
    this.#baseline = initial;
    this.#onChange = onChange;
    this.#options = {
      pollMs: options.pollMs ?? 5000,
      debounceMs: options.debounceMs ?? 50,
      fsWatch: options.fsWatch ?? true,
      onError: options.onError,
    };
    for (const p of paths) this.#watchFolder(dirname(p));
    void this.#watchFolders();
    if (this.#options.pollMs > 0) {
      this.#timer = setInterval(() => void this.check(), this.#options.pollMs);
      this.#timer.unref();
    }
  }

  /** Watch each file's folder and the folder its symlinks resolve to (which moves on every swap). */
  async #watchFolders(): Promise<void> {
    const real = await Promise.all(this.#paths.map((p) => realpath(p).catch(() => p)));
    if (this.#closed) return;
    const wanted = new Set([...this.#paths, ...real].map((p) => dirname(p)));
    for (const [dir, w] of this.#watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.#watchers.delete(dir);
      }
    }
    for (const dir of wanted) this.#watchFolder(dir);
  }

  #watchFolder(dir: string): void {
    if (!this.#options.fsWatch || this.#watchers.has(dir) || this.#closed) return;
    try {
      const w = watch(dir, { persistent: false }, () => this.#schedule());
      w.on('error', (e) => this.#options.onError?.(e));
      this.#watchers.set(dir, w);
    } catch (e) {
      this.#options.onError?.(e as Error);
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.check(), this.#options.debounceMs);
    this.#debounce.unref();
  }

  /** Read the files now and report a change; concurrent calls share one run (plus one rerun). */
  check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#checkOnce();
        } while (this.#again && !this.#closed);
        await this.#watchFolders();
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async #checkOnce(): Promise<void> {
    if (this.#closed) return;
    let contents: Buffer[];
    try {
      contents = await Promise.all(this.#paths.map((p) => readFile(p)));
    } catch (e) {
      // Mid-swap a file can be missing for an instant: keep what we have, try again later.
      this.#options.onError?.(e as Error);
      return;
    }
    if (same(contents, this.#baseline) || (this.#refused && same(contents, this.#refused))) return;
    let accepted = false;
    try {
      accepted = await this.#onChange(contents);
    } catch (e) {
      this.#options.onError?.(e as Error);
    }
    if (accepted) {
      this.#baseline = contents;
      this.#refused = undefined;
    } else {
      this.#refused = contents;
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }
}

function same(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]!));
}
