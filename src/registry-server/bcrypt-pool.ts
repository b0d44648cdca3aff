/**
 * @module registry-server/bcrypt-pool
 * bcrypt off the main thread. bcryptjs is pure JavaScript: one comparison at cost 10 is tens of
 * milliseconds of CPU, and on the event loop a handful of password guessers would delay every other
 * request, logged-in clients included. Here the work runs in worker threads (started on first use,
 * never keeping the process alive), so the event loop only posts messages.
 */

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** What the authenticator needs of bcrypt (tests wrap it to count comparisons). */
export interface PasswordHasher {
  compare(password: string, hash: string): Promise<boolean>;
  hash(password: string, cost: number): Promise<string>;
  close(): Promise<void>;
}

// An eval'd worker: no separate file, so the same code runs from src/ under the tests and from dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', ({ id, op, password, hash, cost }) => {
  try {
    const result = op === 'compare' ? bcrypt.compareSync(password, hash) : bcrypt.hashSync(password, cost);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface Task {
  id: number;
  message: { op: 'compare' | 'hash'; password: string; hash?: string; cost?: number };
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  task?: Task;
}

/** The default size: every core but one for the event loop, at least one, at most four. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** A fixed pool of bcrypt workers with a FIFO queue. */
export class BcryptPool implements PasswordHasher {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readonly bcryptjs = createRequire(import.meta.url).resolve('bcryptjs');

  constructor(private readonly size = defaultPoolSize()) {}

  compare(password: string, hash: string): Promise<boolean> {
    return this.run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  hash(password: string, cost: number): Promise<string> {
    return this.run({ op: 'hash', password, cost }) as Promise<string>;
  }

  /** Tasks waiting for a worker (not counting those running). */
  get queued(): number {
    return this.queue.length;
  }

  private run(message: Task['message']): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the password checker is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, message, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.task);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, ...task.message });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptjs: this.bcryptjs } });
    const slot: Slot = { worker };
    worker.unref();
    worker.on('message', (reply: { id: number; result?: unknown; error?: string }) => {
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      slot.task = undefined;
      worker.unref();
      if (reply.error !== undefined) task.reject(new Error(`bcrypt: ${reply.error}`));
      else task.resolve(reply.result);
      this.dispatch();
    });
    const lost = (error: Error): void => {
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      slot.task?.reject(error);
      slot.task = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`bcrypt worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  /** Stop the workers; waiting and running comparisons fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error('the password checker is closed'));
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }
}
