import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { notifierSchema } from '../config/notifier-schema.js';
import type { Logger } from '../internal/log.js';
import {
  captureLogger,
  eventually,
  freePort,
  resolvedPayload,
  samplePayload,
  startFakeSlack,
  startSmtp,
  type FakeSlack,
} from './fixtures/fakes.js';
import { promtoolCheckMetrics, requireBinary } from '../internal/testing/helpers.js';
import { startNotifier, type NotifierHandle } from './run.js';

const TOKEN = 'tok-' + 'a1'.repeat(20);
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'watchpost-notifier-'));
}

function secret(base: string, name: string, value: string): string {
  const p = join(base, name);
  writeFileSync(p, `${value}\n`, { mode: 0o600 });
  return p;
}

async function start(
  base: string,
  raw: Record<string, unknown>,
  log: Logger,
  extra: { compactMinFinished?: number } = {},
): Promise<NotifierHandle> {
  const config = notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: secret(base, 'token', TOKEN),
    alertmanager_url: 'http://am.example:9093',
    runbook_base_url: 'https://github.com/acme/watchpost/blob/main',
    ...raw,
  });
  const n = await startNotifier({
    config,
    log,
    delivery: { backoffBaseMs: 20, backoffCapMs: 200, sendTimeoutMs: 5000 },
    ...extra,
  });
  cleanups.push(() => n.close());
  return n;
}

async function post(n: NotifierHandle, path: string, body: unknown, token: string | null = TOKEN) {
  const res = await fetch(`${n.url}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'Alertmanager/0.25.0',
      ...(token !== null ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const metricsText = async (n: NotifierHandle, token = TOKEN) =>
  (await fetch(`${n.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } })).text();

function slackChannel(base: string, slack: FakeSlack, over: Record<string, unknown> = {}) {
  return {
    name: 'slack',
    type: 'slack',
    slack: { webhook_url_file: secret(base, 'slack-url', slack.url) },
    ...over,
  };
}

test('401 without or with a wrong token, 413 above the limit, 400 with the reason', async (t) => {
  const base = dir();
  const { log } = captureLogger();
  const n = await start(base, { max_body_bytes: '2KiB' }, log);
  assert.equal((await post(n, '/alerts', samplePayload(), null)).status, 401);
  const wrong = await post(n, '/alerts', samplePayload(), 'nope');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid bearer token');
  assert.equal((await post(n, '/heartbeat', {}, null)).status, 401);
  // /metrics is behind the same token (Prometheus sends it); health and readiness are not.
  const metricsNoToken = await fetch(`${n.url}/metrics`);
  assert.equal(metricsNoToken.status, 401);
  assert.equal(metricsNoToken.headers.get('www-authenticate'), 'Bearer realm="watchpost-notifier"');
  const metricsWrong = await fetch(`${n.url}/metrics`, { headers: { Authorization: 'Bearer nope' } });
  assert.equal(metricsWrong.status, 401);
  assert.equal((await fetch(`${n.url}/-/healthy`)).status, 200);

  const big = samplePayload();
  big.alerts[0]!.annotations.description = 'x'.repeat(4096);
  const tooBig = await post(n, '/alerts', big);
  assert.equal(tooBig.status, 413);
  assert.match(String(tooBig.body.error), /larger than 2048 bytes/);

  const badJson = await post(n, '/alerts', '{"version":"4",');
  assert.equal(badJson.status, 400);
  assert.match(String(badJson.body.error), /^invalid JSON/);
  const badField = await post(n, '/alerts', { ...samplePayload(), status: 'on fire' });
  assert.equal(badField.status, 400);
  assert.equal(badField.body.error, 'status: expected "firing" or "resolved"');
  assert.equal((await post(n, '/alerts', '')).status, 400);

  const ok = await post(n, '/alerts', samplePayload());
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.channels, ['log']);
  assert.equal((await fetch(`${n.url}/-/healthy`)).status, 200);
  assert.equal((await fetch(`${n.url}/-/ready`)).status, 200);

  const m = await metricsText(n);
  assert.match(m, /watchpost_notifier_rejected_total\{reason="unauthorized"\} 3/);
  assert.match(m, /watchpost_notifier_rejected_total\{reason="too_large"\} 1/);
  assert.match(m, /watchpost_notifier_rejected_total\{reason="invalid"\} 3/);
  await eventually(async () =>
    /notifications_total\{channel="log",result="delivered"\} 1/.test(await metricsText(n)),
  );
  const promtool = requireBinary(t, 'promtool');
  if (promtool) assert.equal(promtoolCheckMetrics(promtool, await metricsText(n)).output, '');
});

test('Slack: Block Kit content; 429 waits Retry-After then delivers once; a retried webhook is one message', async () => {
  const base = dir();
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  const { log } = captureLogger();
  const n = await start(base, { channels: [slackChannel(base, slack)] }, log);

  slack.script.push({ status: 429, body: 'rate_limited', headers: { 'Retry-After': '1' } });
  const t0 = Date.now();
  assert.equal((await post(n, '/alerts', samplePayload())).status, 200);
  // Alertmanager retries the identical body (say its request timed out): not delivered again.
  const dup = await post(n, '/alerts', samplePayload());
  assert.deepEqual(dup.body, { status: 'duplicate' });
  await eventually(() => slack.received.length === 1 || undefined, 10_000, 'slack delivery');
  assert.ok(slack.received[0]!.at - t0 >= 1000, `delivered after ${slack.received[0]!.at - t0} ms`);

  const msg = slack.received[0]!.body;
  assert.equal(msg.text, '[FIRING:1] critical DiskSpaceLow (mountpoint=/srv)');
  assert.equal(msg.blocks[0]!.type, 'header');
  const text = (msg.blocks[1] as { text: { text: string } }).text.text;
  assert.match(text, /Disk \/srv is 93% full on host1/);
  assert.match(text, /\*Value:\* 93%/);
  assert.match(
    text,
    /<https:\/\/github\.com\/acme\/watchpost\/blob\/main\/docs\/runbooks\/DiskSpaceLow\.md\|Runbook>/,
  );
  assert.match(
    text,
    /<http:\/\/am\.example:9093\/#\/silences\/new\?filter=%7Balertname%3D%22DiskSpaceLow%22/,
  );

  // The resolved message follows, in order.
  assert.equal((await post(n, '/alerts', resolvedPayload())).status, 200);
  await eventually(() => slack.received.length === 2 || undefined);
  assert.match(slack.received[1]!.body.text, /^\[RESOLVED:1\]/);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(slack.received.length, 2);
  const m = await metricsText(n);
  assert.match(m, /watchpost_notifier_notifications_total\{channel="slack",result="delivered"\} 2/);
  assert.match(m, /watchpost_notifier_notifications_total\{channel="slack",result="retried"\} 1/);
  assert.match(m, /watchpost_notifier_failures_total\{channel="slack",reason="rate_limited"\} 1/);
  assert.match(m, /watchpost_notifier_rejected_total\{reason="duplicate"\} 1/);
  assert.match(m, /watchpost_notifier_outbox_depth 0/);
  assert.match(m, /watchpost_notifier_delivery_duration_seconds_count\{channel="slack"\} 3/);
});

test('Slack: 500 is retried; 400, 403 and 404 are permanent and not retried', async () => {
  const base = dir();
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  const { log, text } = captureLogger();
  slack.script.push(
    { status: 500, body: 'internal_error' },
    { status: 400, body: 'invalid_payload' },
    { status: 403, body: 'invalid_token' },
    { status: 404, body: 'no_service' },
  );
  const n = await start(base, { channels: [slackChannel(base, slack)] }, log);
  for (let i = 0; i < 4; i++) {
    const p = samplePayload({ groupKey: `g${i}` });
    assert.equal((await post(n, '/alerts', p)).status, 200);
  }
  // 500 then ok for the first; the next three fail permanently; the 4th ... none left: ok.
  await eventually(async () => /outbox_depth 0/.test(await metricsText(n)) || undefined);
  const m = await metricsText(n);
  assert.match(m, /notifications_total\{channel="slack",result="failed_permanent"\} 3/);
  assert.match(m, /notifications_total\{channel="slack",result="delivered"\} 1/);
  assert.match(m, /notifications_total\{channel="slack",result="retried"\} 1/);
  for (const reason of ['invalid_payload', 'invalid_token', 'no_service', 'server_error'])
    assert.match(m, new RegExp(`failures_total\\{channel="slack",reason="${reason}"\\} 1`));
  assert.equal(slack.received.length, 1);
  assert.match(text(), /level=error msg="notification given up on; not retried".*reason=invalid_token/);
});

test('email over SMTP with STARTTLS and auth; SMTP down then up delivers once; 4xx retried, 5xx permanent', async () => {
  const base = dir();
  const port = await freePort();
  const { log, text } = captureLogger();
  const n = await start(
    base,
    {
      channels: [
        {
          name: 'mail',
          type: 'email',
          email: {
            host: '127.0.0.1',
            port,
            starttls: true,
            tls_verify: false, // smtp-server's built-in localhost certificate is self-signed
            username: 'watchpost',
            password_file: secret(base, 'smtp-pass', 'smtp-Pa55-secret'),
            from: 'watchpost@example.org',
            to: ['ops@example.org', 'oncall@example.org'],
          },
        },
      ],
    },
    log,
  );
  assert.equal((await post(n, '/alerts', samplePayload())).status, 200);
  await eventually(() => /reason=network/.test(text()) || undefined, 10_000, 'a failed attempt');
  const smtp = await startSmtp({
    port,
    user: 'watchpost',
    pass: 'smtp-Pa55-secret',
    rejectWith: { code: 451, times: 1 },
  });
  cleanups.push(() => smtp.close());
  await eventually(() => smtp.messages.length === 1 || undefined, 10_000, 'mail delivered');
  const mail = smtp.messages[0]!;
  assert.equal(mail.subject, '[FIRING:1] critical DiskSpaceLow (mountpoint=/srv)');
  assert.match(mail.text ?? '', /Disk \/srv is 93% full on host1/);
  assert.match(
    mail.text ?? '',
    /Runbook: https:\/\/github\.com\/acme\/watchpost\/blob\/main\/docs\/runbooks\/DiskSpaceLow\.md/,
  );
  assert.match(
    String(mail.html),
    /<a href="https:\/\/github\.com\/acme\/watchpost\/blob\/main\/docs\/runbooks\/DiskSpaceLow\.md">/,
  );
  assert.match(String(mail.html), /&lt;script&gt;/);
  assert.deepEqual(smtp.envelopes[0], ['ops@example.org', 'oncall@example.org']);
  assert.match(text(), /reason=smtp_4xx/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(smtp.messages.length, 1, 'delivered once');

  await smtp.close();
  const smtp2 = await startSmtp({
    port,
    user: 'watchpost',
    pass: 'smtp-Pa55-secret',
    rejectWith: { code: 550, times: 1 },
  });
  cleanups.push(() => smtp2.close());
  assert.equal((await post(n, '/alerts', resolvedPayload())).status, 200);
  await eventually(async () => /failed_permanent"\} 1/.test(await metricsText(n)) || undefined);
  assert.match(await metricsText(n), /failures_total\{channel="mail",reason="smtp_5xx"\} 1/);
  assert.equal(smtp2.messages.length, 0);
});

test('a restart with undelivered entries delivers them after the restart', async () => {
  const base = dir();
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  const { log } = captureLogger();
  for (let i = 0; i < 1000; i++) slack.script.push({ status: 503, body: 'down' });
  const cfg = { state_dir: join(base, 'state'), channels: [slackChannel(base, slack)] };
  const a = await start(base, cfg, log);
  assert.equal((await post(a, '/alerts', samplePayload())).status, 200);
  const other = { ...resolvedPayload(), groupKey: 'another group' };
  assert.equal((await post(a, '/alerts', other)).status, 200);
  await new Promise((r) => setTimeout(r, 100));
  await a.close();
  assert.equal(slack.received.length, 0);

  slack.script.length = 0;
  const b = await start(base, cfg, log);
  await eventually(() => slack.received.length === 2 || undefined);
  assert.match(slack.received[0]!.body.text, /^\[FIRING:1\]/);
  assert.match(slack.received[1]!.body.text, /^\[RESOLVED:1\]/);
  // and the dedupe memory survived: Alertmanager retrying the first body now is not a third message
  assert.deepEqual((await post(b, '/alerts', samplePayload())).body, { status: 'duplicate' });
});

test('outbox full: 503, counted and logged, never dropped', async () => {
  const base = dir();
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  for (let i = 0; i < 1000; i++) slack.script.push({ status: 500, body: 'x' });
  const { log, text } = captureLogger();
  const n = await start(base, { outbox_max_entries: 2, channels: [slackChannel(base, slack)] }, log);
  for (let i = 0; i < 2; i++)
    assert.equal((await post(n, '/alerts', samplePayload({ groupKey: `k${i}` }))).status, 200);
  const full = await post(n, '/alerts', samplePayload({ groupKey: 'k3' }));
  assert.equal(full.status, 503);
  assert.match(String(full.body.error), /outbox full/);
  const m = await metricsText(n);
  assert.match(m, /rejected_total\{reason="outbox_full"\} 1/);
  assert.match(m, /outbox_depth 2/);
  assert.match(text(), /level=error msg="outbox full/);
});

test("dead-man's switch: silence after a heartbeat raises a message on every channel, and a recovery", async () => {
  const base = dir();
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  const { log } = captureLogger();
  const n = await start(
    base,
    { heartbeat: { timeout: '300ms' }, channels: [slackChannel(base, slack, { severities: ['info'] })] },
    log,
  );
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(slack.received.length, 0, 'nothing before the first heartbeat');
  const watchdog = samplePayload({
    groupLabels: { alertname: 'Watchdog' },
    commonLabels: { alertname: 'Watchdog' },
  });
  watchdog.alerts = [{ ...watchdog.alerts[0]!, labels: { alertname: 'Watchdog', severity: 'none' } }];
  assert.deepEqual((await post(n, '/heartbeat', watchdog)).body, { status: 'heartbeat' });
  assert.match(await metricsText(n), /watchpost_notifier_last_heartbeat_timestamp_seconds 1\d{9}/);
  await eventually(() => slack.received.length === 1 || undefined, 5000, 'silent message');
  assert.match(slack.received[0]!.body.text, /^\[FIRING:1\] critical MonitoringPipelineSilent/);
  // A Watchdog posted to /alerts counts as a heartbeat too.
  assert.deepEqual((await post(n, '/alerts', watchdog)).body, { status: 'heartbeat' });
  await eventually(() => slack.received.length === 2 || undefined, 5000, 'recovery message');
  assert.match(slack.received[1]!.body.text, /^\[RESOLVED:1\] critical MonitoringPipelineSilent/);
});

test('a token is generated on first start (0600); secrets never reach logs, errors or /metrics', async () => {
  const base = dir();
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  slack.script.push({ status: 403, body: 'invalid_token' });
  const { log, text } = captureLogger();
  const state = join(base, 'state');
  const config = notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    state_dir: state,
    channels: [
      slackChannel(base, slack),
      {
        name: 'mail',
        type: 'email',
        email: {
          host: '127.0.0.1',
          port: await freePort(),
          starttls: false,
          username: 'u',
          password_file: secret(base, 'smtp', 'smtp-Very-Secret-9'),
          from: 'a@example.org',
          to: ['b@example.org'],
        },
      },
    ],
  });
  const n = await startNotifier({ config, log, delivery: { backoffBaseMs: 20, backoffCapMs: 50 } });
  cleanups.push(() => n.close());
  const tokenFile = join(state, 'token');
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const token = readFileSync(tokenFile, 'utf8').trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.match(text(), new RegExp(`path=${tokenFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));

  const bad = await post(n, '/alerts', samplePayload(), token.slice(0, 10));
  assert.equal((await post(n, '/alerts', samplePayload(), token)).status, 200);
  await eventually(
    async () =>
      /failures_total\{channel="mail",reason="network"\} [2-9]/.test(await metricsText(n, token)) ||
      undefined,
  );
  await eventually(async () => /failed_permanent"\} 1/.test(await metricsText(n, token)) || undefined);
  const everything = text() + JSON.stringify(bad.body) + (await metricsText(n, token));
  for (const s of [token, slack.url, '/services/T000/B000/XXXXSECRETXXXX', 'smtp-Very-Secret-9'])
    assert.ok(!everything.includes(s), `leaked ${s.slice(0, 6)}…`);
  assert.match(text(), /reason=invalid_token/);
});
