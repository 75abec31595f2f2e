import assert from 'node:assert/strict';
import { test } from 'node:test';
import { samplePayload } from './fixtures/fakes.js';
import { parsePayload } from './payload.js';

test('accepts an Alertmanager 0.25 payload and tolerates unknown fields', () => {
  const r = parsePayload(JSON.stringify({ ...samplePayload(), somethingNew: { x: 1 } }));
  assert.ok(r.ok);
  assert.equal(r.payload.alerts[0]!.labels.alertname, 'DiskSpaceLow');
  assert.equal(r.payload.alerts[0]!.endsAt, '0001-01-01T00:00:00Z');
});

test('rejects wrong types with a reason naming the field', () => {
  const bad = samplePayload() as unknown as Record<string, unknown>;
  const alerts = (bad.alerts as Record<string, unknown>[]).map((a) => ({ ...a, status: 'burning' }));
  const r = parsePayload(JSON.stringify({ ...bad, alerts }));
  assert.ok(!r.ok);
  assert.match(r.reason, /^alerts\[0\]\.status: expected "firing" or "resolved"/);

  const r2 = parsePayload(JSON.stringify({ ...samplePayload(), version: '3' }));
  assert.ok(!r2.ok);
  assert.match(r2.reason, /^version: expected "4"/);

  const r3 = parsePayload(JSON.stringify({ ...samplePayload(), commonLabels: { a: 1 } }));
  assert.ok(!r3.ok);
  assert.match(r3.reason, /^commonLabels\.a: /);

  const r4 = parsePayload(JSON.stringify({ version: '4', status: 'firing' }));
  assert.ok(!r4.ok);
  assert.match(r4.reason, /^alerts: missing required field/);
});

test('rejects invalid JSON and non-objects', () => {
  const r = parsePayload('{"version":');
  assert.ok(!r.ok);
  assert.match(r.reason, /^invalid JSON/);
  const r2 = parsePayload('[1,2]');
  assert.ok(!r2.ok);
  assert.match(r2.reason, /expected a JSON object/);
});

test('a "__proto__" label or annotation is rejected, not silently dropped (found by fuzz.test.ts)', () => {
  const body = JSON.stringify(samplePayload());
  for (const [from, to] of [
    ['"labels":{', '"labels":{"__proto__":1,'],
    ['"labels":{', '"labels":{"__proto__":"x",'],
    ['"annotations":{', '"annotations":{"__proto__":{"summary":"x"},'],
    ['"commonLabels":{', '"commonLabels":{"__proto__":null,'],
  ] as const) {
    const r = parsePayload(body.replace(from, to));
    assert.equal(r.ok, false, to);
    assert.match(r.ok ? '' : r.reason, /__proto__: "__proto__" is not a valid name in /);
  }
  assert.equal(parsePayload(body.replace('"labels":{', '"labels":{"constructor":"x",')).ok, true);
});
