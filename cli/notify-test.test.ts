import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  freePort,
  startFakeSlack,
  startSmtp,
  type FakeSlack,
  type FakeSmtp,
} from '../notifier/fixtures/fakes.js';
import { CLI } from '../internal/testing/helpers.js';

// The built CLI as a subprocess (npm test builds first). Asynchronous, unlike helpers.runCli:
// the fake Slack and SMTP servers answer from this process's event loop.
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      cwd: base,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WATCHPOST_CONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.once('error', reject);
    proc.once('close', (status) => {
      clearTimeout(kill);
      resolve({ status, stdout, stderr });
    });
  });
}

const SLACK_OK_PATH = '/services/T000/B000/OKSECRETPATH0001';
const SLACK_BAD_PATH = '/services/T000/B000/BADSECRETPATH002';
const SMTP_PASS = 'notify-Test-Pa55';
let base: string;
let slackOk: FakeSlack;
let slackBad: FakeSlack;
let smtp: FakeSmtp;
let config: string;
let closedPort: number;

function secret(name: string, value: string): string {
  const p = join(base, name);
  writeFileSync(p, `${value}\n`, { mode: 0o600 });
  return p;
}

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'watchpost-notify-test-'));
  slackOk = await startFakeSlack(SLACK_OK_PATH);
  slackBad = await startFakeSlack(SLACK_BAD_PATH);
  smtp = await startSmtp({ user: 'watchpost', pass: SMTP_PASS });
  closedPort = await freePort();
  const email = (port: number) => [
    `      email:`,
    `        host: 127.0.0.1`,
    `        port: ${port}`,
    `        starttls: true`,
    `        tls_verify: false`,
    `        username: watchpost`,
    `        password_file: ${secret('smtp-pass', SMTP_PASS)}`,
    `        from: 'watchpost <watchpost@example.org>'`,
    `        to: [oncall@example.org]`,
  ];
  config = join(base, 'watchpost.yml');
  writeFileSync(
    config,
    [
      'notifier:',
      '  alertmanager_url: http://am.example:9093',
      '  runbook_base_url: https://github.com/acme/watchpost/blob/main',
      `  state_dir: ${join(base, 'state')}`,
      '  channels:',
      '    - name: slack-ops',
      '      type: slack',
      '      severities: [warning, critical]',
      '      matchers: [\'team="ops"\']',
      '      slack:',
      `        webhook_url_file: ${secret('slack-ok', slackOk.url)}`,
      '    - name: slack-revoked',
      '      type: slack',
      '      slack:',
      `        webhook_url_file: ${secret('slack-bad', slackBad.url)}`,
      '    - name: email-oncall',
      '      type: email',
      '      severities: [critical]',
      ...email(smtp.port),
      '    - name: email-down',
      '      type: email',
      ...email(closedPort),
      '    - name: log',
      '      type: log',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await slackOk?.close();
  await slackBad?.close();
  await smtp?.close();
});

function assertNoSecrets(text: string) {
  for (const s of [SLACK_OK_PATH, SLACK_BAD_PATH, SMTP_PASS, 'OKSECRETPATH', 'BADSECRETPATH'])
    assert.ok(!text.includes(s), `a secret leaked: ${s}`);
}

test('notify-test: one line per channel, ok or FAILED with the reason, exit 1 when any failed', async () => {
  slackBad.script.push({ status: 403, body: 'invalid_token' });
  const r = await run(['notify-test', '--config', config]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'slack-ops: ok',
    'slack-revoked: FAILED (permanent: HTTP 403: invalid_token)',
    'email-oncall: ok',
    `email-down: FAILED (retryable: connection refused (127.0.0.1:${closedPort}))`,
    'log: ok',
  ]);
  assertNoSecrets(r.stdout + r.stderr);
  // Nothing went through the outbox.
  assert.equal(existsSync(join(base, 'state', 'outbox.jsonl')), false);

  // Slack got a clearly marked test alert, with the channel's severity and matcher labels.
  assert.equal(slackOk.received.length, 1);
  const slack = JSON.stringify(slackOk.received[0]!.body);
  assert.match(slackOk.received[0]!.body.text, /^\[FIRING:1\] warning WatchpostNotifyTest/);
  assert.match(slack, /watchpost notify-test/);
  assert.match(slack, /team=ops/);
  assert.match(slack, /https:\/\/github.com\/acme\/watchpost\/blob\/main\/docs\/notifier.md\|Runbook/);
  assert.match(slack, /http:\/\/am.example:9093\/#\/silences\/new\?filter=/);

  // The email arrived through the real SMTP server (STARTTLS, AUTH), critical for a critical-only channel.
  assert.equal(smtp.messages.length, 1);
  const mail = smtp.messages[0]!;
  assert.match(mail.subject ?? '', /^\[FIRING:1\] critical WatchpostNotifyTest/);
  assert.match(mail.text ?? '', /watchpost notify-test: test notification for channel email-oncall/);
  assert.deepEqual(smtp.envelopes[0], ['oncall@example.org']);
  // The log channel writes the notification to stderr.
  assert.match(r.stderr, /WatchpostNotifyTest/);
});

test('notify-test --channel NAME: only that channel; exit 0 when it works', async () => {
  const before = slackOk.received.length;
  const r = await run(['notify-test', '--config', config, '--channel', 'slack-ops']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'slack-ops: ok\n');
  assert.equal(slackOk.received.length, before + 1);
  assert.equal(smtp.messages.length, 1);

  const mail = await run(['notify-test', '--config', config, '--channel', 'email-oncall']);
  assert.equal(mail.status, 0, mail.stderr);
  assert.equal(mail.stdout, 'email-oncall: ok\n');
  assert.equal(smtp.messages.length, 2);
});

test('notify-test --channel with an unknown name: exit 2 naming the configured channels', async () => {
  const r = await run(['notify-test', '--config', config, '--channel', 'pager']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /unknown channel "pager"; configured channels: slack-ops, slack-revoked, email-oncall, email-down, log/,
  );
});

test('notify-test with the built-in default: the log channel', async () => {
  const r = await run(['notify-test']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'log: ok\n');
  assert.ok(!existsSync(join(base, '.watchpost')), 'notify-test must not create the outbox');
  assert.match(readFileSync(config, 'utf8'), /slack-ops/);
});
