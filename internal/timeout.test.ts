import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { deadline, formatMs, timeoutSignal, TimeoutError, withTimeout } from './timeout.js';

/** A promise that never settles. */
const never = () => new Promise<never>(() => {});

// Every case below that waits on a long timer would keep this file alive for a minute if the
// timer were left running: the runner reports the file's duration, and the suite's own
// timeout fails it.

describe('withTimeout', () => {
  it("answers with the work's result, or its rejection", async () => {
    assert.equal(await withTimeout(Promise.resolve(7), 60_000), 7);
    await assert.rejects(withTimeout(Promise.reject(new Error('boom')), 60_000), /boom/);
  });

  it('rejects with a TimeoutError after running onTimeout, and swallows a late rejection', async () => {
    let late: (err: Error) => void = () => {};
    const work = new Promise<number>((_, reject) => (late = reject));
    const order: string[] = [];
    await assert.rejects(
      withTimeout(work, 5, () => order.push('onTimeout')).finally(() => order.push('rejected')),
      (err: unknown) => err instanceof TimeoutError && err.ms === 5 && err.message === 'timed out after 5ms',
    );
    assert.deepEqual(order, ['onTimeout', 'rejected']);
    late(new Error('too late')); // no unhandled rejection
  });
});

describe('deadline', () => {
  it('times out, resolves, rejects and aborts', async () => {
    assert.deepEqual(await deadline(never(), 5), { settled: false });
    assert.deepEqual(await deadline(Promise.resolve(1), 60_000), { settled: true, value: 1 });
    await assert.rejects(deadline(Promise.reject(new Error('boom')), 60_000), /boom/);
    const ac = new AbortController();
    const p = deadline(never(), 60_000, ac.signal);
    ac.abort(new Error('shutdown'));
    await assert.rejects(p, /shutdown/);
    await assert.rejects(deadline(never(), 60_000, AbortSignal.abort(new Error('already'))), /already/);
  });

  it('leaves no listener on a long-lived signal', async () => {
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) await deadline(Promise.resolve(i), 60_000, ac.signal);
    await deadline(never(), 1, ac.signal);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });
});

describe('timeoutSignal', () => {
  it('aborts with its reason when the time is up, and says so', async () => {
    const t = timeoutSignal(5, undefined, new TimeoutError(5, 'no answer within 5ms'));
    await new Promise((resolve) => t.signal.addEventListener('abort', resolve));
    assert.equal(t.timedOut, true);
    assert.equal((t.signal.reason as Error).message, 'no answer within 5ms');
  });

  it("aborts with the outer signal's reason, not as a timeout", () => {
    const outer = new AbortController();
    const t = timeoutSignal(60_000, outer.signal);
    outer.abort(new Error('shutdown'));
    assert.equal(t.signal.aborted, true);
    assert.equal(t.timedOut, false);
    assert.equal((t.signal.reason as Error).message, 'shutdown');
    assert.equal(timeoutSignal(60_000, AbortSignal.abort(new Error('before'))).signal.aborted, true);
  });

  it('clear() stops the timer and the listener on the outer signal', async () => {
    const outer = new AbortController();
    const t = timeoutSignal(5, outer.signal);
    assert.equal(getEventListeners(outer.signal, 'abort').length, 1);
    t.clear();
    assert.equal(getEventListeners(outer.signal, 'abort').length, 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(t.signal.aborted, false);
    assert.equal(t.timedOut, false);
  });
});

describe('formatMs', () => {
  it('writes milliseconds below a second, else seconds', () => {
    assert.equal(formatMs(250), '250ms');
    assert.equal(formatMs(5000), '5s');
    assert.equal(formatMs(1500), '1.5s');
  });
});
