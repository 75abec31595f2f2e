import assert from 'node:assert/strict';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../internal/log.js';
import { notifierSchema } from '../config/notifier-schema.js';
import { captureLogger, eventually, mountTmpfs, samplePayload, startFakeSlack } from './fixtures/fakes.js';
import { Outbox } from './outbox.js';
import { startNotifier } from './run.js';

/**
 * The outbox on a bad day: a full disk (a real tmpfs, mounted by the test), a file larger
 * than one string can hold, and a bound by bytes (issue 13, items 10 and 11).
 */

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const open = (dir: string, over: Partial<Parameters<typeof Outbox.open>[0]> = {}) =>
  Outbox.open({ dir, maxEntries: 100_000, dedupeWindowMs: 60_000, log: silentLogger, ...over });

/** A payload of about `kib` KiB. */
function bigPayload(kib: number, n: number) {
  const p = samplePayload({ groupKey: `big-${n}` });
  p.alerts[0]!.annotations.description = 'x'.repeat(kib * 1024);
  return p;
}

/** Fills the filesystem at `dir` up to the last byte; returns the filler's path. */
function fill(dir: string, name = 'filler'): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 0x61);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  // The last partial block.
  try {
    for (;;) writeSync(fd, block, 0, 1);
  } catch {
    // full
  }
  closeSync(fd);
  return path;
}

test('ENOSPC mid-append: the torn part is cut off, the next acknowledged record survives a restart', async (t) => {
  const fs = mountTmpfs(t, 1024 * 1024);
  if (!fs) return;
  cleanups.push(() => fs.unmount());
  const dir = join(fs.dir, 'state');
  const a = open(dir);
  // Leave less room than one record: the append is partly written, then ENOSPC.
  const filler = join(fs.dir, 'filler');
  writeFileSync(filler, Buffer.alloc(1024 * 1024 - 64 * 1024));
  let acknowledged = 0;
  let failure: NodeJS.ErrnoException | undefined;
  for (let i = 0; i < 100 && !failure; i++) {
    try {
      assert.ok(a.enqueue({ payload: bigPayload(20, i) }, ['slack']).ok);
      acknowledged++;
    } catch (err) {
      failure = err as NodeJS.ErrnoException;
    }
  }
  assert.equal(failure?.code, 'ENOSPC');
  assert.ok(acknowledged >= 1);
  // Every complete record ends the file: nothing torn is left behind.
  const text = readFileSync(join(dir, 'outbox.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'));
  assert.equal(text.split('\n').filter(Boolean).length, acknowledged);
  // Room again: the next notification is acknowledged and must not be glued onto a torn line.
  rmSync(filler);
  assert.ok(a.enqueue({ payload: bigPayload(20, 1000) }, ['slack']).ok);
  acknowledged++;
  a.close();
  const b = open(dir);
  assert.equal(b.depth(), acknowledged, 'every acknowledged notification replays');
  b.close();
});

test('a delivery record that cannot be written is kept, never thrown, and written once there is room', async (t) => {
  const fs = mountTmpfs(t, 512 * 1024);
  if (!fs) return;
  cleanups.push(() => fs.unmount());
  const dir = join(fs.dir, 'state');
  const { log, text } = captureLogger();
  const a = open(dir, { log });
  const e = a.enqueue({ payload: samplePayload() }, ['slack']);
  assert.ok(e.ok);
  // tmpfs allocates whole pages: pad the file to a page boundary, so that the next append needs a new page.
  const file = join(dir, 'outbox.jsonl');
  const probe = bigPayload(0, 0);
  const before = statSync(file).size;
  assert.ok(a.enqueue({ payload: probe }, ['pad']).ok);
  const probeLen = statSync(file).size - before;
  const pad = (4096 - ((before + 2 * probeLen) % 4096)) % 4096;
  const padded = bigPayload(0, 1);
  padded.alerts[0]!.annotations.description = 'x'.repeat(pad);
  assert.ok(a.enqueue({ payload: padded }, ['pad']).ok);
  assert.equal(statSync(file).size % 4096, 0);
  const filler = fill(fs.dir);
  assert.doesNotThrow(() => a.markDone(e.entry.id, 'slack', 'delivered'));
  assert.equal(a.nextFor('slack'), undefined, 'done in memory');
  assert.match(text(), /could not record a delivery; will write it again/);
  assert.equal(a.flushPending(), false);
  rmSync(filler);
  assert.equal(a.flushPending(), true);
  a.close();
  assert.equal(open(dir).nextFor('slack'), undefined, 'the delivery record reached the disk');
});

test('a full disk in the running notifier: 503 write_failed, no crash, the silence alarm goes out once there is room', async (t) => {
  const fs = mountTmpfs(t, 512 * 1024);
  if (!fs) return;
  cleanups.push(() => fs.unmount());
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  const token = 'disk-token-0123456789abcdef';
  writeFileSync(join(fs.dir, 'token'), token);
  writeFileSync(join(fs.dir, 'slack'), slack.url);
  const config = notifierSchema({ baseDir: fs.dir }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: 'token',
    state_dir: 'state',
    heartbeat: { timeout: '300ms' },
    channels: [{ name: 'slack', type: 'slack', slack: { webhook_url_file: 'slack' } }],
  });
  const { log, text } = captureLogger();
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  cleanups.push(() => void process.off('unhandledRejection', onUnhandled));
  const n = await startNotifier({
    config,
    log,
    delivery: { backoffBaseMs: 20, backoffCapMs: 200, sendTimeoutMs: 5000 },
  });
  cleanups.push(() => n.close());
  const post = (path: string, body: unknown) =>
    fetch(`${n.url}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await post('/heartbeat', {})).status, 200);
  const filler = fill(fs.dir);
  // A webhook now cannot be written: 503, so Alertmanager retries it.
  const refused = await post('/alerts', samplePayload());
  assert.equal(refused.status, 503);
  assert.match(((await refused.json()) as { error: string }).error, /outbox write failed: ENOSPC/);
  // The heartbeat stops: the alarm cannot be written either; the timer must not crash the process.
  await eventually(
    () => /heartbeat check failed|outbox write failed/.test(text()) || undefined,
    10_000,
    'alarm write failure',
  );
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(slack.received, []);
  rmSync(filler);
  await eventually(
    () => slack.received.find((r) => r.body.text.includes('MonitoringPipelineSilent')) ?? undefined,
    10_000,
    'the silence alarm once the disk has room',
  );
  assert.equal((await post('/alerts', samplePayload())).status, 200);
  await eventually(
    () => slack.received.find((r) => r.body.text.includes('DiskSpaceLow')),
    10_000,
    'delivery',
  );
  assert.match(
    await (await fetch(`${n.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } })).text(),
    /rejected_total\{reason="write_failed"\} [1-9]/,
  );
  assert.deepEqual(unhandled, []);
});

test('bounded by bytes: 503 once outbox_max_bytes of undelivered notifications wait', async () => {
  const base = mkdtempSync(join(tmpdir(), 'watchpost-bytes-'));
  const a = open(base, { maxBytes: 100 * 1024 });
  let accepted = 0;
  for (let i = 0; i < 10; i++) {
    const r = a.enqueue({ payload: bigPayload(30, i) }, ['slack']);
    if (!r.ok) {
      assert.match(r.detail, /would pass outbox_max_bytes 102400/);
      break;
    }
    accepted++;
  }
  assert.equal(accepted, 3);
  assert.ok(a.bytes() <= 100 * 1024);
  // Delivering one makes room for one.
  a.markDone(a.nextFor('slack')!.id, 'slack', 'delivered');
  assert.ok(a.enqueue({ payload: bigPayload(30, 99) }, ['slack']).ok);
  assert.ok(!a.enqueue({ payload: bigPayload(30, 100) }, ['slack']).ok);
  a.close();
});

test('an outbox larger than the longest string (600 records of 926 KiB) replays by streaming', () => {
  const base = mkdtempSync(join(tmpdir(), 'watchpost-huge-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  const file = join(base, 'outbox.jsonl');
  const fd = openSync(file, 'w', 0o600);
  const description = 'y'.repeat(926 * 1024);
  for (let i = 0; i < 600; i++) {
    const p = samplePayload({ groupKey: `g${i}` });
    p.alerts[0]!.annotations.description = description;
    writeSync(
      fd,
      JSON.stringify({ t: 'enq', id: `id${i}`, at: Date.now(), channels: ['slack'], msg: { payload: p } }) +
        '\n',
    );
    // All but the last three were delivered before the restart.
    if (i < 597)
      writeSync(fd, JSON.stringify({ t: 'done', id: `id${i}`, ch: 'slack', r: 'delivered' }) + '\n');
  }
  closeSync(fd);
  assert.ok(statSync(file).size > 0x1fffffe8, 'larger than V8 can hold in one string');
  const a = open(base, { compactMinFinished: 1_000_000 });
  assert.equal(a.depth(), 3);
  assert.deepEqual(
    a.entries().map((e) => e.id),
    ['id597', 'id598', 'id599'],
  );
  a.close();
});
