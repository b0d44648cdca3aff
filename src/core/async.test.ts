import { describe, expect, it } from 'vitest';
import { abortable, Cancellation, KeyedSemaphore, Semaphore } from './async.js';

describe('Semaphore', () => {
  it('never lets more than max holders in, and hands permits over in order', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    const a = await sem.acquire();
    const b = await sem.acquire();
    const c = sem.acquire().then((r) => {
      order.push(3);
      return r;
    });
    const d = sem.acquire().then((r) => {
      order.push(4);
      return r;
    });
    expect(sem.active).toBe(2);
    expect(sem.pending).toBe(2);
    a();
    a(); // a second release of the same permit is ignored
    const rc = await c;
    expect(sem.active).toBe(2);
    expect(order).toEqual([3]);
    b();
    (await d)();
    rc();
    expect(sem.active).toBe(0);
    expect(order).toEqual([3, 4]);
  });

  it('stops waiting when the signal aborts', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(sem.pending).toBe(0);
    release();
    expect(sem.active).toBe(0);
  });

  it('stops waiting when a Cancellation is cancelled, before or during the wait, and the queue moves on', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const cancel = new Cancellation();
    const waiting = sem.acquire(cancel);
    const next = sem.acquire();
    cancel.cancel(new Error('nobody waits'));
    cancel.cancel(new Error('second reason ignored'));
    await expect(waiting).rejects.toThrow('nobody waits');
    expect(sem.pending).toBe(1);
    release();
    (await next)(); // the permit went to the waiter behind the cancelled one
    const early = new Cancellation();
    early.cancel(new Error('before'));
    await expect(sem.acquire(early)).rejects.toThrow('before');
    expect(sem.active).toBe(0);
    expect(sem.pending).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

describe('KeyedSemaphore', () => {
  it('limits each key on its own: a full key does not hold another', async () => {
    const limits = new KeyedSemaphore(1);
    const slow = await limits.acquire('slow.example');
    let granted = false;
    const queued = limits.acquire('slow.example').then((release) => {
      granted = true;
      return release;
    });
    const other = await limits.acquire('fast.example'); // not held by the full key
    await new Promise((r) => setImmediate(r));
    expect(granted).toBe(false);
    other();
    slow();
    (await queued)();
    expect(granted).toBe(true);
    expect(limits.size).toBe(0);
  });

  it('refuses a limit below one when made', () => {
    expect(() => new KeyedSemaphore(0)).toThrow(RangeError);
  });

  it('forgets a key once its last permit is back and nobody waits (many registries cost nothing after)', async () => {
    const limits = new KeyedSemaphore(1);
    for (let i = 0; i < 1000; i++) (await limits.acquire(`r${i}.example`))();
    expect(limits.size).toBe(0);
    const held = await limits.acquire('busy.example');
    const controller = new AbortController();
    const waiting = limits.acquire('busy.example', controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(limits.size).toBe(1); // still held
    const next = limits.acquire('busy.example');
    held();
    (await next)();
    expect(limits.size).toBe(0);
  });
});

describe('abortable', () => {
  it('gives up with the signal reason while the shared promise goes on for others', async () => {
    let finish!: (v: string) => void;
    const shared = new Promise<string>((r) => {
      finish = r;
    });
    const controller = new AbortController();
    const hurried = abortable(shared, controller.signal);
    const patient = abortable(shared, undefined);
    controller.abort(new Error('no more time'));
    await expect(hurried).rejects.toThrow('no more time');
    finish('done');
    await expect(patient).resolves.toBe('done');
  });

  it('rejects with what the reason function makes, also for a signal aborted before the call', async () => {
    const signal = AbortSignal.abort();
    const made = new Error('budget spent');
    await expect(abortable(Promise.resolve(1), signal, () => made)).rejects.toBe(made);
  });

  it('passes the answer and the failure of the promise through', async () => {
    const signal = new AbortController().signal;
    await expect(abortable(Promise.resolve(7), signal)).resolves.toBe(7);
    await expect(abortable(Promise.reject(new Error('broken')), signal)).rejects.toThrow('broken');
  });
});
