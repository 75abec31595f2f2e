import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom as rng } from '../../internal/testing/helpers.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BoundedCounts, ownString } from './bounded-counts.js';

describe('BoundedCounts', () => {
  it('agrees with a plain model on random adds, gets, takes and takeUpTos of number and text keys', () => {
    let now = 0;
    const cap = 64;
    const c = new BoundedCounts(cap, 120_000, () => now);
    // The model: key -> { n, at }, re-inserted on add so its first key is the least recently added.
    const model = new Map<number | string, { n: number; at: number }>();
    const live = (k: number | string) => {
      const e = model.get(k);
      if (e && now - e.at > 120_000) model.delete(k);
      return model.get(k);
    };
    const rand = rng(11);
    // Keys as connectionKey makes them (ip * 100000 + port, near 2^48), crowded into few
    // values so that hash collisions, wrap-around and removals in the middle of runs occur.
    const keys = [
      ...Array.from({ length: 150 }, (_, i) => 4294967295 * 100_000 + (i % 7) * 65536 + i),
      ...Array.from({ length: 150 }, (_, i) => (i * 2654435761) % 2 ** 32),
      'a 1',
      'b 2',
      '::1 22',
    ];
    for (let step = 0; step < 60_000; step++) {
      const k = keys[Math.floor(rand() * keys.length)]!;
      const r = rand();
      if (r < 0.5) {
        const n = 1 + Math.floor(rand() * 3);
        const e = live(k);
        model.delete(k);
        model.set(k, { n: (e?.n ?? 0) + n, at: now });
        if (model.size > cap) model.delete(model.keys().next().value!);
        c.add(k, n);
      } else if (r < 0.7) {
        assert.equal(c.get(k), live(k)?.n ?? 0, `get at step ${step}`);
      } else if (r < 0.8) {
        const want = Math.floor(rand() * 4);
        const e = live(k);
        const had = e?.n ?? 0;
        const got = Math.min(had, want);
        if (e && got === had && want > 0) model.delete(k);
        else if (e) e.n -= got;
        assert.equal(c.takeUpTo(k, want), got, `takeUpTo ${want} at step ${step}`);
      } else {
        const e = live(k);
        if (e && e.n === 1) model.delete(k);
        else if (e) e.n--;
        assert.equal(c.take(k), e !== undefined, `take at step ${step}`);
      }
      if (rand() < 0.01) now += Math.floor(rand() * 60_000);
      if (step % 5000 === 0) for (const key of keys) assert.equal(c.get(key), live(key)?.n ?? 0, `${key}`);
    }
  });

  it('evicts the least recently added at capacity, expires, and takes one at a time', () => {
    let now = 0;
    const c = new BoundedCounts(3, 120_000, () => now);
    c.add(1);
    c.add('b', 2);
    c.add(3);
    c.add(1); // 1 is now the most recent
    c.add(4); // evicts 'b'
    assert.equal(c.size, 3);
    assert.equal(c.get('b'), 0);
    assert.deepEqual([c.get(1), c.get(3), c.get(4)], [2, 1, 1]);
    assert.equal(c.take(1), true);
    assert.equal(c.get(1), 1);
    assert.equal(c.take(1), true);
    assert.equal(c.take(1), false);
    assert.equal(c.size, 2);
    c.add(5);
    c.add(6); // evicts 3, the oldest left
    assert.equal(c.get(3), 0);
    now += 10 * 60_000;
    assert.equal(c.get(4), 0, 'expired');
    assert.equal(c.take(5), false, 'expired');
    c.add(7);
    assert.equal(c.get(7), 1);
    // Churn through many keys: the size stays at capacity and every slot is reused.
    for (let i = 0; i < 9998; i++) c.add(i % 7 === 0 ? `s${i}` : i);
    assert.equal(c.size, 3);
    assert.deepEqual([c.get(9995), c.get('s9996'), c.get(9997), c.get(9994)], [1, 1, 1, 0]);
  });

  it('grows from a small table to its capacity and stays a plain LRU, without expiry', () => {
    // 20,000 is above the first size (4096), so the arrays double several times on the way.
    const cap = 20_000;
    const c = new BoundedCounts(cap, Infinity, () => {
      throw new Error('no clock is read without expiry');
    });
    const model = new Map<number | string, number>();
    const rand = rng(5);
    let evictions = 0;
    for (let step = 0; step < 100_000; step++) {
      const r = Math.floor(rand() * 36_000);
      const k = r % 11 === 0 ? `host-${r}` : r * 65537;
      const had = model.get(k);
      model.delete(k);
      model.set(k, (had ?? 0) + 1);
      let expected = false;
      if (model.size > cap) {
        model.delete(model.keys().next().value!);
        expected = true;
        evictions++;
      }
      assert.equal(c.add(k), expected, `add at step ${step}`);
      if (step % 9973 === 0) assert.deepEqual([...c.entries()], [...model], `entries at step ${step}`);
    }
    assert.ok(evictions > 0);
    assert.equal(c.size, cap);
    assert.deepEqual([...c.entries()], [...model]);
  });

  it('entries() leaves out expired entries, least recent first', () => {
    let now = 0;
    const c = new BoundedCounts(10, 1000, () => now);
    c.add('a');
    now = 600;
    c.add(2, 3);
    c.add('c');
    now = 1200; // 'a' is now older than the 1000 ms
    assert.deepEqual(
      [...c.entries()],
      [
        [2, 3],
        ['c', 1],
      ],
    );
  });

  it('refuses a capacity that is not a whole number of at least 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new BoundedCounts(bad), RangeError);
  });

  it('ownString returns an equal string that keeps no larger string alive', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // 64 pieces of 1 MiB each, and a 19-character cut of each (an IPv6 address in a line).
    const heldBy = (own: (s: string) => string): number => {
      gc();
      const before = process.memoryUsage().heapUsed;
      const kept: string[] = [];
      for (let i = 0; i < 64; i++) {
        const piece = `${String(i).padStart(2, '0')}${'x'.repeat(1 << 20)} 2001:db8::1234:5678 `;
        kept.push(own(piece.slice(piece.length - 20, piece.length - 1)));
      }
      gc();
      const held = process.memoryUsage().heapUsed - before;
      assert.equal(kept.length, 64);
      assert.ok(kept.every((k) => k === '2001:db8::1234:5678'));
      return held;
    };
    // A plain slice keeps its whole piece (the reference, so this test can fail); a copy does not.
    assert.ok(heldBy((s) => s) > 32 * 2 ** 20, 'a slice keeps its piece alive');
    assert.ok(heldBy(ownString) < 4 * 2 ** 20, 'ownString keeps no piece alive');
    assert.equal(ownString('short'), 'short');
    // Text keys are kept as such copies: a key equal to a slice finds the same entry.
    const c = new BoundedCounts(4);
    c.add('x 2001:db8::1234:5678'.slice(2));
    assert.equal(c.get('2001:db8::1234:5678'), 1);
  });
});
