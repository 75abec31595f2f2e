import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../internal/log.js';
import { notifierSchema } from '../../config/notifier-schema.js';
import { startFakeSlack } from '../../notifier/fixtures/fakes.js';
import { startNotifier } from '../../notifier/run.js';
import { startAlertmanager } from '../../internal/testing/alertmanager.js';
import {
  eventually,
  freePort,
  requireBinary,
  skipWithout,
  startCli,
  type RunningCli,
} from '../../internal/testing/helpers.js';
import { startPrometheus } from '../../internal/testing/prometheus.js';

/**
 * Issue: kill -9 of the exporter made Prometheus mark its series stale, the alerts resolved and
 * Slack got RESOLVED for problems that were still there, before WatchpostExporterDown could
 * mute them; after the restart they fired again only after another full for:.
 *
 * The real chain with the shipped rules and alertmanager.yml: the exporter as its own process
 * (killed with SIGKILL), Prometheus, Alertmanager, the notifier and a Slack-like receiver. Only
 * the scrape and evaluation intervals (1s) and Alertmanager's waits are shortened; every for:
 * and keep_firing_for: is the shipped one.
 */
const skip = skipWithout('prometheus', 'prometheus-alertmanager');
describe('pipeline: the exporter is killed with SIGKILL while an alert fires', { skip }, () => {
  it(
    'sends no RESOLVED while it is down, and the alert is still the same firing one when it is back',
    { timeout: 600_000 },
    async (t) => {
      const promBin = requireBinary(t, 'prometheus');
      const amBin = promBin && requireBinary(t, 'prometheus-alertmanager');
      if (!promBin || !amBin) return;
      const cleanups: (() => Promise<unknown>)[] = [];
      t.after(async () => {
        for (const c of cleanups.reverse()) await c().catch(() => undefined);
      });

      const dir = mkdtempSync(join(tmpdir(), 'watchpost-killed-'));
      const metricsToken = 'metrics-token-4e91c0d2';
      const notifierToken = 'notifier-token-b37a51fe';
      writeFileSync(join(dir, 'metrics-token'), `${metricsToken}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'notifier-token'), `${notifierToken}\n`, { mode: 0o600 });

      const slack = await startFakeSlack();
      cleanups.push(() => slack.close());
      writeFileSync(join(dir, 'slack-url'), slack.url, { mode: 0o600 });
      const notifier = await startNotifier({
        config: notifierSchema({ baseDir: dir }).parse({
          listen: '127.0.0.1:0',
          bearer_token_file: 'notifier-token',
          state_dir: 'notifier-state',
          channels: [{ name: 'slack', type: 'slack', slack: { webhook_url_file: 'slack-url' } }],
        }),
        log: silentLogger,
      });
      cleanups.push(() => notifier.close());
      const am = await startAlertmanager(amBin, notifier.url, notifierToken);
      cleanups.push(() => am.stop());

      // A dependency nobody listens on: DependencyDown (critical, for: 30s) fires.
      const closedPort = await freePort();
      const exporterPort = await freePort();
      const configFile = join(dir, 'watchpost.yml');
      writeFileSync(
        configFile,
        `exporter:
  listen: 127.0.0.1:${exporterPort}
  bearer_token_file: ${join(dir, 'metrics-token')}
collectors:
  containers:
    enabled: false
  dependencies:
    interval: 1s
    timeout: 1s
    targets:
      - { name: backend, kind: tcp, address: "127.0.0.1:${closedPort}", probe_timeout: 500ms }
`,
      );
      let exporter: RunningCli = await startCli(['exporter', '--config', configFile]);
      cleanups.push(() => exporter.stop());
      const prom = await startPrometheus(promBin, {
        exporter: `127.0.0.1:${exporterPort}`,
        notifier: new URL(notifier.url).host,
        alertmanager: am.url,
        metricsToken,
        notifierToken,
        scrapeInterval: '1s',
        evaluationInterval: '1s',
      });
      cleanups.push(() => prom.stop());

      const slackTexts = (re: RegExp) => slack.received.filter((r) => re.test(String(r.body.text)));
      await eventually(() => slackTexts(/FIRING.*DependencyDown/)[0], 120_000, 'DependencyDown on Slack');
      const firing = async () =>
        (await prom.alerts()).find((a) => a.labels.alertname === 'DependencyDown' && a.state === 'firing');
      const before = await firing();
      assert.ok(before, 'DependencyDown firing in Prometheus');

      await exporter.stop('SIGKILL');
      const killedAt = Date.now();
      // WatchpostExporterDown (for: 1m) pages and mutes DependencyDown in Alertmanager.
      await eventually(
        () => slackTexts(/FIRING.*WatchpostExporterDown/)[0],
        180_000,
        'WatchpostExporterDown on Slack',
      );
      await eventually(
        async () => {
          const list = (await (
            await fetch(`${am.url}/api/v2/alerts?filter=alertname%3D%22DependencyDown%22`)
          ).json()) as { status: { state: string } }[];
          return list[0]?.status.state === 'suppressed' ? true : undefined;
        },
        30_000,
        'DependencyDown muted while the exporter is down',
      );
      assert.ok(await firing(), 'DependencyDown still firing in Prometheus while the exporter is down');
      assert.deepEqual(
        slackTexts(/RESOLVED.*DependencyDown/),
        [],
        'no RESOLVED for DependencyDown while down',
      );

      exporter = await startCli(['exporter', '--config', configFile]);
      await eventually(
        () => slackTexts(/RESOLVED.*WatchpostExporterDown/)[0],
        120_000,
        'WatchpostExporterDown resolved',
      );
      // A few more evaluations with the exporter back.
      await new Promise((r) => setTimeout(r, 5_000));
      const after = await firing();
      assert.ok(after, 'DependencyDown firing after the exporter is back');
      assert.equal(after.activeAt, before.activeAt, 'the same alert, not a new one after another full for:');
      assert.deepEqual(slackTexts(/RESOLVED.*DependencyDown/), [], 'no RESOLVED for DependencyDown at all');
      assert.equal(slackTexts(/FIRING.*DependencyDown/).length, 1, 'paged once for DependencyDown');
      t.diagnostic(`exporter down ${Math.round((Date.now() - killedAt) / 1000)} s`);
    },
  );
});
