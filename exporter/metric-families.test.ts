import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { counter, gauge, renderFamilies, Snapshot } from './metric-families.js';

describe('renderFamilies', () => {
  it('writes the same bytes as prom-client for the same families and samples', async () => {
    const help = 'Help with a backslash \\ and a\nnewline.';
    const registry = new Registry();
    const g = new Gauge({ name: 'test_gauge', help, labelNames: ['b', 'a'], registers: [registry] });
    new Gauge({ name: 'test_empty', help: 'Never set.', labelNames: ['x'], registers: [registry] });
    const c = new Counter({ name: 'test_total', help: 'A counter.', registers: [registry] });
    const plain = new Gauge({ name: 'test_plain', help: 'No labels.', registers: [registry] });
    g.set({ b: 'two "quoted"', a: 'back\\slash\nnewline' }, 0.25);
    g.set({ b: 'x', a: 'y' }, -3);
    g.set({ b: 'two "quoted"', a: 'back\\slash\nnewline' }, 1e21);
    c.inc(12345678901);
    plain.set(Infinity);

    const fg = gauge('test_gauge', help, ['b', 'a']);
    const fe = gauge('test_empty', 'Never set.', ['x']);
    const fc = counter('test_total', 'A counter.');
    const fp = gauge('test_plain', 'No labels.');
    const snap = new Snapshot()
      .add(fg, { b: 'two "quoted"', a: 'back\\slash\nnewline' }, 0.25)
      .add(fg, { b: 'x', a: 'y' }, -3)
      .add(fg, { b: 'two "quoted"', a: 'back\\slash\nnewline' }, 1e21)
      .add(fc, {}, 12345678901)
      .add(fp, {}, Infinity);

    assert.equal(renderFamilies([fg, fe, fc, fp], snap), await registry.metrics());
  });

  it('replaces a series added twice in place, and reads it back', () => {
    const f = gauge('test_value', 'A value.', ['name']);
    const snap = new Snapshot().add(f, { name: 'a' }, 1).add(f, { name: 'b' }, 2).add(f, { name: 'a' }, 3);
    assert.equal(
      renderFamilies([f], snap),
      '# HELP test_value A value.\n# TYPE test_value gauge\ntest_value{name="a"} 3\ntest_value{name="b"} 2\n',
    );
    assert.equal(snap.value(f, { name: 'b' }), 2);
    assert.equal(snap.value(f, { name: 'c' }), undefined);
  });

  it('writes NaN as Prometheus spells it', () => {
    const f = gauge('test_nan', 'Not a number.');
    assert.match(renderFamilies([f], new Snapshot().add(f, {}, NaN)), /^test_nan NaN$/m);
  });
});
