import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { COARSE_MS, coarseNow } from './coarse-clock.js';

describe('coarseNow', () => {
  it('is never ahead of Date.now, lags it by at most COARSE_MS plus a turn, and moves on', async () => {
    const first = coarseNow();
    let moved = false;
    const until = Date.now() + 4 * COARSE_MS;
    while (Date.now() < until) {
      const before = Date.now();
      const t = coarseNow();
      const after = Date.now();
      assert.ok(t <= after, `coarse ${t} ahead of the clock ${after}`);
      // The timer that marks the value stale fires up to a few ms late on a busy machine.
      assert.ok(before - t <= COARSE_MS + 100, `coarse ${t} lags the clock ${before} by ${before - t} ms`);
      if (t > first) moved = true;
      await sleep(10);
    }
    assert.ok(moved, 'the value moved on within four periods');
  });
  it('does not move within one synchronous run', () => {
    const t = coarseNow();
    const until = Date.now() + 30;
    while (Date.now() < until) assert.equal(coarseNow(), t);
  });
});
