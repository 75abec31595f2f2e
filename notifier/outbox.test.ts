import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { silentLogger } from '../internal/log.js';
import { samplePayload } from './fixtures/fakes.js';
import { Outbox } from './outbox.js';

const open = (dir: string, over: Partial<Parameters<typeof Outbox.open>[0]> = {}) =>
  Outbox.open({ dir, maxEntries: 100, dedupeWindowMs: 60_000, log: silentLogger, ...over });

test('entries survive a reopen until every channel is done', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const a = open(dir);
  const e1 = a.enqueue({ payload: samplePayload() }, ['slack', 'mail'], 'h1');
  const e2 = a.enqueue({ payload: samplePayload() }, ['slack'], 'h2');
  assert.ok(e1.ok && e2.ok);
  a.markDone(e1.entry.id, 'slack', 'delivered');
  a.close(); // no graceful anything: the file is all there is
  assert.equal(statSync(join(dir, 'outbox.jsonl')).mode & 0o777, 0o600);

  const b = open(dir);
  assert.equal(b.depth(), 2);
  assert.equal(b.nextFor('slack')?.id, e2.entry.id);
  assert.equal(b.nextFor('mail')?.id, e1.entry.id);
  assert.ok(b.isDuplicate('h1'), 'dedupe memory survives a restart');
  b.markDone(e1.entry.id, 'mail', 'failed_permanent');
  b.markDone(e2.entry.id, 'slack', 'delivered');
  assert.equal(b.depth(), 0);
  b.close();
  assert.equal(open(dir).depth(), 0);
});

test('a torn last line (crash mid-write) is skipped, the rest replayed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const a = open(dir);
  a.enqueue({ payload: samplePayload() }, ['slack']);
  a.close();
  const { appendFileSync } = await import('node:fs');
  appendFileSync(join(dir, 'outbox.jsonl'), '{"t":"enq","id":"x","at":1,"chan');
  assert.equal(open(dir).depth(), 1);
});

test('bounded: refuses when full, never drops', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const a = open(dir, { maxEntries: 2 });
  assert.ok(a.enqueue({ payload: samplePayload() }, ['x']).ok);
  assert.ok(a.enqueue({ payload: samplePayload() }, ['x']).ok);
  const full = a.enqueue({ payload: samplePayload() }, ['x']);
  assert.ok(!full.ok && full.reason === 'outbox_full', JSON.stringify(full));
  assert.equal(a.depth(), 2);
});

test('dedupe window expires', () => {
  let now = 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const a = open(dir, { now: () => now, dedupeWindowMs: 10_000 });
  a.enqueue({ payload: samplePayload() }, ['x'], 'h');
  assert.ok(a.isDuplicate('h'));
  now += 10_001;
  assert.ok(!a.isDuplicate('h'));
});

test('compaction keeps live entries and the dedupe memory, drops finished ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const a = open(dir, { compactMinFinished: 10 });
  const keep = a.enqueue({ payload: samplePayload() }, ['x', 'y'], 'keep');
  assert.ok(keep.ok);
  a.markDone(keep.entry.id, 'x', 'delivered');
  for (let i = 0; i < 10; i++) {
    const e = a.enqueue({ payload: samplePayload() }, ['x'], `h${i}`);
    assert.ok(e.ok);
    a.markDone(e.entry.id, 'x', 'delivered');
  }
  const lines = readFileSync(join(dir, 'outbox.jsonl'), 'utf8').trim().split('\n');
  // 11 seen records + the live entry's enq + its done for x
  assert.equal(lines.length, 13, lines.join('\n'));
  a.close();
  const b = open(dir);
  assert.equal(b.depth(), 1);
  assert.equal(b.nextFor('y')?.id, keep.entry.id);
  assert.equal(b.nextFor('x'), undefined);
  assert.ok(b.isDuplicate('h3'));
});

/** A distinct payload of about `kib` KiB (a long description), numbered `i`. */
function payloadOf(i: number, kib = 1) {
  const p = samplePayload();
  p.groupKey = `{}:{alertname="A${i}"}`;
  p.groupLabels = { alertname: `A${i}` };
  p.alerts[0]!.annotations.description = `${i} `.padEnd(kib * 1024, 'x');
  return p;
}

test('a notification is read back from the file: right after enqueue, after compaction moved it, after a reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const a = open(dir, { compactMinFinished: 5 });
  const kept: number[] = [];
  for (let i = 0; i < 30; i++) {
    const e = a.enqueue({ payload: payloadOf(i) }, ['x'], `h${i}`);
    assert.ok(e.ok);
    assert.deepEqual(e.entry.message.payload, payloadOf(i));
    assert.equal(e.entry.title, `firing A${i}`);
    // Every other one delivered: compactions rewrite the file and move the rest.
    if (i % 2 === 0) a.markDone(e.entry.id, 'x', 'delivered');
    else kept.push(i);
  }
  const live = a.entries();
  assert.equal(live.length, kept.length);
  live.forEach((e, k) => assert.deepEqual(e.message.payload, payloadOf(kept[k]!), `entry ${k}`));
  a.close();
  const b = open(dir);
  b.entries().forEach((e, k) => {
    assert.deepEqual(e.message.payload, payloadOf(kept[k]!));
    assert.equal(e.title, `firing A${kept[k]}`);
  });
  b.close();
});

test('a long queue keeps only what delivery needs in memory, not the notifications', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const a = open(dir, { maxEntries: 100_000 });
  const gc = collectGarbage();
  const before = gc();
  // 2,000 waiting notifications of 16 KiB each: 32 MiB of JSON on disk.
  for (let i = 0; i < 2000; i++) assert.ok(a.enqueue({ payload: payloadOf(i, 16) }, ['x']).ok);
  const grown = gc() - before;
  assert.equal(a.depth(), 2000);
  assert.ok(
    grown < 8 * 2 ** 20,
    `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB for 32 MiB of notifications`,
  );
  a.close();
});

/** A function that collects garbage and returns the heap in use. */
function collectGarbage(): () => number {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
}
