import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { notifierSchema } from '../config/notifier-schema.js';
import { startAlertmanager } from '../internal/testing/alertmanager.js';
import { requireBinary } from '../internal/testing/helpers.js';
import { captureLogger, eventually, startFakeSlack } from './fixtures/fakes.js';
import { startNotifier } from './run.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the real Alertmanager, with the shipped alertmanager.yml, reaches Slack through the notifier: firing, then resolved', async (t) => {
  const binary = requireBinary(t, 'prometheus-alertmanager');
  if (!binary) return;
  const base = mkdtempSync(join(tmpdir(), 'watchpost-notifier-am-'));
  const token = 'am-token-' + 'z9'.repeat(16);
  writeFileSync(join(base, 'token'), token);
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  writeFileSync(join(base, 'slack'), slack.url);
  const { log } = captureLogger();
  const config = notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: 'token',
    state_dir: 'state',
    runbook_base_url: 'https://github.com/acme/watchpost/blob/main',
    channels: [{ name: 'slack', type: 'slack', slack: { webhook_url_file: 'slack' } }],
  });
  const notifier = await startNotifier({ config, log, delivery: { backoffBaseMs: 50, backoffCapMs: 500 } });
  cleanups.push(() => notifier.close());
  const am = await startAlertmanager(binary, notifier.url, token);
  cleanups.push(() => am.stop());

  const alert = {
    labels: { alertname: 'DiskSpaceLow', severity: 'critical', instance: 'host1:9850', mountpoint: '/srv' },
    annotations: {
      summary: 'Disk /srv is 93% full on host1',
      description: 'Only 7 GiB left.',
      value: '93%',
      runbook_url: 'docs/runbooks/DiskSpaceLow.md',
    },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
  };
  const watchdog = {
    labels: { alertname: 'Watchdog', severity: 'none' },
    annotations: {},
    startsAt: alert.startsAt,
  };
  const postAlerts = async (alerts: unknown[]) => {
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(alerts),
    });
    assert.equal(res.status, 200, await res.text());
  };
  await postAlerts([alert, watchdog]);
  await eventually(() => (slack.received.length >= 1 ? true : undefined), 20_000, 'firing message');
  const firing = slack.received[0]!.body;
  assert.match(firing.text, /^\[FIRING:1\] critical DiskSpaceLow/);
  const text = (firing.blocks[1] as { text: { text: string } }).text.text;
  assert.match(text, /\*Value:\* 93%/);
  assert.match(text, /blob\/main\/docs\/runbooks\/DiskSpaceLow\.md\|Runbook>/);
  // Alertmanager's externalURL (its host name and port) when alertmanager_url is not set.
  const port = new URL(am.url).port;
  assert.match(
    text,
    new RegExp(`<http://[^/]+:${port}/#/silences/new\\?filter=%7Balertname%3D%22DiskSpaceLow%22`),
  );

  await postAlerts([{ ...alert, endsAt: new Date(Date.now() - 1000).toISOString() }]);
  await eventually(() => (slack.received.length >= 2 ? true : undefined), 20_000, 'resolved message');
  assert.match(slack.received[1]!.body.text, /^\[RESOLVED:1\] critical DiskSpaceLow/);
  assert.ok(!slack.received.some((r) => /Watchdog/.test(r.body.text)), 'the Watchdog never reaches a person');
  await eventually(
    async () => {
      const m = await (
        await fetch(`${notifier.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } })
      ).text();
      return /watchpost_notifier_last_heartbeat_timestamp_seconds 1\d{9}/.test(m) ? true : undefined;
    },
    20_000,
    'heartbeat from Alertmanager',
  );
});
