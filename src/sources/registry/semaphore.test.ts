import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.js';

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

  it('refuses a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
