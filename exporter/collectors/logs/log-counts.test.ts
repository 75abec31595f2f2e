import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LineMatcher } from '../../sources/log-formats.js';
import { SourceCounts } from './log-counts.js';

/** A matcher reading "fail <client> [n]" and "ok <client>" lines (the counting is what is tested). */
const matcher: LineMatcher = (line) => {
  const [what, client, n] = line.split(' ');
  if (what === 'fail') return { auth: 'failure', client, ...(n ? { count: Number(n) } : {}) };
  if (what === 'ok') return { auth: 'success', client };
  return undefined;
};

describe('SourceCounts', () => {
  it('keeps the max_clients most recently seen clients with their counts, as a plain LRU would', () => {
    let seed = 3;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    // IPv4 addresses (keyed as numbers), other forms (keyed as text) and look-alikes of both.
    const clients = [
      ...Array.from({ length: 40 }, (_, i) => `10.0.${i >> 3}.${i & 7}`),
      '010.0.0.1',
      '10.0.0.01',
      '::1',
      'host.example',
      '2001:db8::1',
      '-1',
      '167772161',
    ];
    const max = 16;
    const counts = new SourceCounts(matcher, max);
    // The reference: a Map re-inserted on every hit, so its first key is the least recent.
    const model = new Map<string, number>();
    let evictions = 0;
    for (let i = 0; i < 20_000; i++) {
      const client = clients[Math.floor(rand() * clients.length)]!;
      const n = rand() < 0.1 ? 3 : 1;
      counts.line(n === 1 ? `fail ${client}` : `fail ${client} ${n}`);
      const had = model.get(client);
      model.delete(client);
      model.set(client, (had ?? 0) + n);
      if (model.size > max) {
        model.delete(model.keys().next().value!);
        evictions++;
      }
      if (i % 997 === 0 || i === 19_999) {
        assert.deepEqual(new Map(counts.clients()), new Map(model), `after line ${i}`);
      }
    }
    assert.equal(counts.clientCount, max);
    assert.equal(counts.evictions, evictions);
    assert.equal(counts.lines, 20_000);
  });
});
