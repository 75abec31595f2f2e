import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { notifierSchema } from '../config/notifier-schema.js';
import type { Logger } from '../internal/log.js';
import {
  captureLogger,
  eventually,
  mountTmpfs,
  resolvedPayload,
  samplePayload,
  startFakeSlack,
  startSmtp,
  type FakeSlack,
} from './fixtures/fakes.js';
import { promtoolCheckMetrics, requireBinary } from '../internal/testing/helpers.js';
import type { DeliveryOptions } from './delivery.js';
import { startNotifier, type NotifierHandle } from './run.js';

/**
 * What broke the notifier on a bad day (issue 13, items 8–12): each test reproduces what
 * was seen, against the real SMTP server, the Slack-like server and real full disks.
 */

const TOKEN = 'tok-' + 'b2'.repeat(20);
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const dir = () => mkdtempSync(join(tmpdir(), 'watchpost-badday-'));

function secret(base: string, name: string, value: string): string {
  const p = join(base, name);
  writeFileSync(p, `${value}\n`, { mode: 0o600 });
  return p;
}

function config(base: string, raw: Record<string, unknown>) {
  return notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: secret(base, 'token', TOKEN),
    alertmanager_url: 'http://am.example:9093',
    ...raw,
  });
}

async function start(
  base: string,
  raw: Record<string, unknown>,
  log: Logger,
  delivery: DeliveryOptions = { backoffBaseMs: 20, backoffCapMs: 200, sendTimeoutMs: 5000 },
): Promise<NotifierHandle> {
  const n = await startNotifier({ config: config(base, raw), log, delivery });
  cleanups.push(() => n.close());
  return n;
}

async function post(url: string, path: string, body: unknown, token: string | null = TOKEN) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token !== null ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const metricsText = async (n: NotifierHandle) =>
  (await fetch(`${n.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
const metric = async (n: NotifierHandle, re: RegExp) => {
  const m = re.exec(await metricsText(n));
  return m ? Number(m[1]) : undefined;
};

function slackChannel(base: string, slack: FakeSlack, over: Record<string, unknown> = {}) {
  return {
    name: 'slack',
    type: 'slack',
    slack: { webhook_url_file: secret(base, 'slack-url', slack.url) },
    ...over,
  };
}

async function fakeSlack(): Promise<FakeSlack> {
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  return slack;
}

// --- item 8: the token ------------------------------------------------------------------

test('an empty generated token file is replaced (atomically), never turned into "no authentication"', async () => {
  const base = dir();
  const state = join(base, 'state');
  const { log, text } = captureLogger();
  // What a first start on a full disk left behind with the old non-atomic write.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(state, { recursive: true });
  writeFileSync(join(state, 'token'), '');
  const n = await startNotifier({
    config: notifierSchema({ baseDir: base }).parse({ listen: '127.0.0.1:0', state_dir: state }),
    log,
  });
  cleanups.push(() => n.close());
  const noHeader = await post(n.url, '/alerts', samplePayload(), null);
  assert.equal(noHeader.status, 401, 'a request without Authorization must not pass');
  assert.equal((await post(n.url, '/alerts', samplePayload(), '')).status, 401);
  const token = readFileSync(join(state, 'token'), 'utf8').trim();
  assert.equal(token.length, 64);
  assert.equal(statSync(join(state, 'token')).mode & 0o777, 0o600);
  assert.equal((await post(n.url, '/alerts', samplePayload(), token)).status, 200);
  assert.match(text(), /the generated token file is empty/);
  assert.ok(!text().includes(token));
});

test('a short configured token is refused at start, naming the key', async () => {
  const base = dir();
  const { log } = captureLogger();
  const cfg = notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: secret(base, 'short', 'abc123'),
  });
  await assert.rejects(
    startNotifier({ config: cfg, log }),
    /bearer_token_file: the token is 6 characters long; expected at least 16/,
  );
});

test('a generated token on a full disk: start fails, no empty token is left, the next start works', async (t) => {
  const fs = mountTmpfs(t, 64 * 1024);
  if (!fs) return;
  cleanups.push(() => fs.unmount());
  writeFileSync(join(fs.dir, 'filler'), Buffer.alloc(64 * 1024 - 4096));
  // Fill the last blocks too.
  try {
    writeFileSync(join(fs.dir, 'filler2'), Buffer.alloc(8192));
  } catch {
    // ENOSPC: full
  }
  const state = join(fs.dir, 'state');
  const { log } = captureLogger();
  const cfg = notifierSchema({ baseDir: fs.dir }).parse({ listen: '127.0.0.1:0', state_dir: state });
  await assert.rejects(startNotifier({ config: cfg, log }), /ENOSPC/);
  assert.ok(!existsSync(join(state, 'token')), 'no token file, so no empty token');
  rmSync(join(fs.dir, 'filler'));
  const n = await startNotifier({ config: cfg, log });
  cleanups.push(() => n.close());
  assert.equal((await post(n.url, '/alerts', samplePayload(), null)).status, 401);
  assert.equal(readFileSync(join(state, 'token'), 'utf8').trim().length, 64);
});

// --- item 9: one bad notification never blocks a channel ----------------------------------

test('a lone surrogate in a label: rendered, delivered on Slack and email, and what follows is too', async () => {
  const base = dir();
  const slack = await fakeSlack();
  const smtp = await startSmtp({ user: 'u', pass: 'smtp-pass-0123' });
  cleanups.push(() => smtp.close());
  const { log } = captureLogger();
  const n = await start(
    base,
    {
      channels: [
        slackChannel(base, slack),
        {
          name: 'mail',
          type: 'email',
          email: {
            host: '127.0.0.1',
            port: smtp.port,
            starttls: true,
            tls_verify: false,
            username: 'u',
            password_file: secret(base, 'smtp', 'smtp-pass-0123'),
            from: 'watchpost@example.org',
            to: ['ops@example.org'],
          },
        },
      ],
    },
    log,
  );
  // As seen: the escape makes a lone UTF-16 surrogate after JSON.parse.
  const bad = JSON.stringify(samplePayload({ groupKey: 'bad' })).replace(
    '"mountpoint":"/srv"',
    '"mountpoint":"/srv\\ud800"',
  );
  assert.match(bad, /\\ud800/);
  assert.equal((await post(n.url, '/alerts', bad)).status, 200);
  assert.equal((await post(n.url, '/alerts', samplePayload({ groupKey: 'good' }))).status, 200);
  await eventually(
    () => (slack.received.length === 2 && smtp.messages.length === 2) || undefined,
    15_000,
    'both delivered on both channels',
  );
  const first = JSON.stringify(slack.received[0]!.body);
  assert.match(first, /\/srv\uFFFD/, 'the lone surrogate became U+FFFD');
  assert.match(first, /silences\/new\?filter=/);
  assert.match(await metricsText(n), /notifications_total\{channel="slack",result="delivered"\} 2/);
});

test('an entry that keeps failing does not block the ones behind it, and is given up on after max_attempts', async () => {
  const base = dir();
  const slack = await fakeSlack();
  // Slack fails this one message (say, a proxy in front chokes on it), and takes the others.
  slack.answerFor = (body) =>
    body.text.includes('Poison') ? { status: 500, body: 'internal_error' } : undefined;
  const { log, text } = captureLogger();
  const n = await start(base, { retry: { max_attempts: 4 }, channels: [slackChannel(base, slack)] }, log);
  const poison = samplePayload({ groupKey: 'poison', groupLabels: { alertname: 'Poison' } });
  assert.equal((await post(n.url, '/alerts', poison)).status, 200);
  for (let i = 0; i < 3; i++)
    assert.equal((await post(n.url, '/alerts', samplePayload({ groupKey: `ok${i}` }))).status, 200);
  await eventually(() => slack.received.length === 3 || undefined, 10_000, 'the three behind it delivered');
  await eventually(
    async () => (await metric(n, /result="failed_permanent"\} (\d+)/)) === 1 || undefined,
    10_000,
    'given up',
  );
  assert.equal(slack.requests(), 3 + 4, 'four attempts of the failing one');
  assert.match(
    text(),
    /notification given up on; not retried.*reason=max_attempts detail="4 attempts failed; the last: server_error/,
  );
  assert.match(await metricsText(n), /failures_total\{channel="slack",reason="max_attempts"\} 1/);
  assert.equal(n.outbox.depth(), 0);
});

test('an entry older than max_delivery_age is given up on (counted, logged), as Alertmanager gives up', async () => {
  const base = dir();
  const slack = await fakeSlack();
  slack.answerFor = () => ({ status: 503, body: 'down' });
  const { log, text } = captureLogger();
  const n = await start(base, { max_delivery_age: '1s', channels: [slackChannel(base, slack)] }, log);
  assert.equal((await post(n.url, '/alerts', samplePayload())).status, 200);
  await eventually(
    async () => (await metric(n, /result="failed_permanent"\} (\d+)/)) === 1 || undefined,
    10_000,
    'expired',
  );
  assert.match(text(), /reason=expired detail="not delivered within max_delivery_age \(1s/);
  assert.equal(n.outbox.depth(), 0);
});

test("a resolved notification replaces its group's undelivered firing one; per-channel depth and age", async (t) => {
  const base = dir();
  const slack = await fakeSlack();
  let down = true;
  slack.answerFor = () => (down ? { status: 503, body: 'down' } : undefined);
  const { log } = captureLogger();
  const n = await start(base, { channels: [slackChannel(base, slack)] }, log);
  assert.equal((await post(n.url, '/alerts', samplePayload())).status, 200);
  assert.equal((await post(n.url, '/alerts', samplePayload({ groupKey: 'other' }))).status, 200);
  await new Promise((r) => setTimeout(r, 1100));
  const m = await metricsText(n);
  assert.match(m, /watchpost_notifier_queue_depth\{channel="slack"\} 2/);
  const age = Number(
    /watchpost_notifier_oldest_undelivered_age_seconds\{channel="slack"\} ([\d.]+)/.exec(m)?.[1],
  );
  assert.ok(age >= 1 && age < 60, `oldest age ${age}`);
  assert.match(m, /watchpost_notifier_outbox_bytes [1-9]\d*/);
  const promtool = requireBinary(t, 'promtool');
  if (promtool) assert.equal(promtoolCheckMetrics(promtool, m).output, '');

  assert.equal((await post(n.url, '/alerts', resolvedPayload())).status, 200);
  down = false;
  await eventually(() => slack.received.length === 2 || undefined, 10_000, 'two messages');
  await new Promise((r) => setTimeout(r, 300));
  const texts = slack.received.map((r) => r.body.text);
  assert.equal(texts.filter((x) => x.startsWith('[FIRING')).length, 1, texts.join(' | '));
  assert.equal(texts.filter((x) => x.startsWith('[RESOLVED')).length, 1, texts.join(' | '));
  const after = await metricsText(n);
  assert.match(after, /notifications_total\{channel="slack",result="superseded"\} 1/);
  assert.match(after, /watchpost_notifier_queue_depth\{channel="slack"\} 0/);
  assert.match(after, /watchpost_notifier_oldest_undelivered_age_seconds\{channel="slack"\} 0/);
});

test('a TLS certificate failure is permanent: one attempt, reason tls_certificate', async () => {
  const base = dir();
  // smtp-server's built-in certificate is for localhost and expired: verification fails.
  const smtp = await startSmtp({ user: 'u', pass: 'smtp-pass-0123' });
  cleanups.push(() => smtp.close());
  const { log } = captureLogger();
  const n = await start(
    base,
    {
      channels: [
        {
          name: 'mail',
          type: 'email',
          email: {
            host: '127.0.0.1',
            port: smtp.port,
            starttls: true,
            tls_verify: true,
            username: 'u',
            password_file: secret(base, 'smtp', 'smtp-pass-0123'),
            from: 'watchpost@example.org',
            to: ['ops@example.org'],
          },
        },
      ],
    },
    log,
  );
  assert.equal((await post(n.url, '/alerts', samplePayload())).status, 200);
  await eventually(
    async () => (await metric(n, /result="failed_permanent"\} (\d+)/)) === 1 || undefined,
    10_000,
    'given up',
  );
  const m = await metricsText(n);
  assert.match(m, /failures_total\{channel="mail",reason="tls_certificate"\} 1/);
  assert.match(m, /notifications_total\{channel="mail",result="retried"\} 0/);
  assert.equal(smtp.messages.length, 0);
});

// --- item 12: Retry-After and Slack's limits -----------------------------------------------

test('Retry-After: 3000000 does not overflow the timer into a busy loop', async () => {
  const base = dir();
  const slack = await fakeSlack();
  slack.answerFor = () => ({ status: 429, body: 'rate_limited', headers: { 'Retry-After': '3000000' } });
  const { log } = captureLogger();
  const n = await start(base, { channels: [slackChannel(base, slack)] }, log);
  assert.equal((await post(n.url, '/alerts', samplePayload())).status, 200);
  await eventually(() => slack.requests() >= 1 || undefined);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(slack.requests(), 1, 'one request, then a long wait (it was 207 POSTs in 10 s)');
});

test('Slack: a 4.5 KB generatorURL and huge alerts stay within Block Kit limits and are delivered', async () => {
  const base = dir();
  const slack = await fakeSlack();
  const { log } = captureLogger();
  const n = await start(base, { channels: [slackChannel(base, slack)] }, log);
  const long = samplePayload({ groupKey: 'long-link' });
  long.alerts[0]!.generatorURL = `http://prometheus.example:9090/graph?g0.expr=${'x'.repeat(4500)}`;
  assert.equal((await post(n.url, '/alerts', long)).status, 200);
  const many = samplePayload({ groupKey: 'many', groupLabels: { alertname: 'L'.repeat(300) } });
  many.alerts = Array.from({ length: 80 }, (_, i) => ({
    ...many.alerts[0]!,
    labels: { ...many.alerts[0]!.labels, i: String(i), long: 'v'.repeat(2000) },
    annotations: { ...many.alerts[0]!.annotations, description: 'd'.repeat(5000) },
    generatorURL: `http://p.example/${'y'.repeat(3000)}`,
  }));
  assert.equal((await post(n.url, '/alerts', many)).status, 200);
  await eventually(
    () => slack.received.length === 2 || undefined,
    10_000,
    `both delivered (refused: ${slack.rejected.join('; ')})`,
  );
  assert.deepEqual(slack.rejected, []);
  const text = (slack.received[0]!.body.blocks[1] as { text: { text: string } }).text.text;
  assert.ok(text.length <= 3000, `${text.length}`);
  assert.match(text, /Runbook|Silence/);
  assert.match(text, /Source: link too long to show/);
  assert.ok(slack.received[1]!.body.blocks.length <= 50);
});

// --- issue 12 item 10: the dead-man's switch ------------------------------------------------

test('the recovery message says how long the pipeline was silent, from before to after', async () => {
  const base = dir();
  const slack = await fakeSlack();
  const { log } = captureLogger();
  const n = await start(
    base,
    { heartbeat: { timeout: '300ms' }, channels: [slackChannel(base, slack)] },
    log,
  );
  assert.equal((await post(n.url, '/heartbeat', {})).status, 200);
  await eventually(() => slack.received.length === 1 || undefined, 10_000, 'silent message');
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal((await post(n.url, '/heartbeat', {})).status, 200);
  await eventually(() => slack.received.length === 2 || undefined, 10_000, 'recovery message');
  const text = (slack.received[1]!.body.blocks[1] as { text: { text: string } }).text.text;
  const m = /\*Resolved\* after (.+) \(from (\S+) to (\S+)\)/.exec(text);
  assert.ok(m, text);
  const [, took, from, to] = m;
  assert.ok(Date.parse(from!) < Date.parse(to!), `from ${from} to ${to}`);
  // Silent from the first heartbeat + 300 ms until the second, about 1.2 s later.
  assert.notEqual(took, 'less than a second', text);
});

test('a restart does not disarm the switch: silence that began before it still raises the alarm', async () => {
  const base = dir();
  const slack = await fakeSlack();
  const { log } = captureLogger();
  const raw = {
    state_dir: join(base, 'state'),
    heartbeat: { timeout: '500ms' },
    channels: [slackChannel(base, slack)],
  };
  const a = await start(base, raw, log);
  assert.equal((await post(a.url, '/heartbeat', {})).status, 200);
  await a.close();
  assert.equal(slack.received.length, 0);
  // Prometheus or Alertmanager died too: no heartbeat ever reaches the restarted notifier.
  const b = await start(base, raw, log);
  await eventually(() => slack.received.length === 1 || undefined, 10_000, 'the alarm after the restart');
  assert.match(slack.received[0]!.body.text, /^\[FIRING:1\] critical MonitoringPipelineSilent/);
  assert.match(await metricsText(b), /watchpost_notifier_last_heartbeat_timestamp_seconds 1\d{9}/);
  // And a restart while silent still sends the recovery when heartbeats come back.
  await b.close();
  const c = await start(base, raw, log);
  assert.equal((await post(c.url, '/heartbeat', {})).status, 200);
  await eventually(
    () => slack.received.length === 2 || undefined,
    10_000,
    'the recovery after another restart',
  );
  assert.match(slack.received[1]!.body.text, /^\[RESOLVED:1\] critical MonitoringPipelineSilent/);
});
