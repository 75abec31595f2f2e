import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../internal/log.js';
import { defaultConfig } from '../../config/load.js';
import { Secret } from '../../internal/secret.js';
import { startExporter, type ExporterHandle } from '../../exporter/run.js';
import { startNotifier, type NotifierHandle } from '../../notifier/run.js';
import {
  startAlertmanager,
  startReceiver,
  type RunningAlertmanager,
} from '../../internal/testing/alertmanager.js';
import { startPrometheus, type RunningPrometheus } from '../../internal/testing/prometheus.js';
import { eventually, requireBinary, skipWithout } from '../../internal/testing/helpers.js';

/**
 * The whole chain with the shipped files: the exporter (bearer token on /metrics) scraped by
 * Prometheus running provisioning/prometheus/prometheus.yml and alerts/*.rules.yml, which
 * sends to Alertmanager running alerts/alertmanager.yml, which posts to a loopback receiver
 * standing where the notifier will be. Only addresses, secret paths and intervals are swapped.
 */
const skip = skipWithout('prometheus', 'prometheus-alertmanager', 'promtool');
describe('pipeline: exporter → Prometheus → Alertmanager → webhook', { skip }, () => {
  let exporter: ExporterHandle | undefined;
  let notifier: NotifierHandle | undefined;
  let prometheus: RunningPrometheus | undefined;
  let am: RunningAlertmanager | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  let promUrl = '';
  let promConfig = '';
  let skipped = false;
  const metricsToken = 'metrics-token-0c7e2a';

  before(async (t) => {
    const promBin = requireBinary(t, 'prometheus');
    const amBin = requireBinary(t, 'prometheus-alertmanager');
    if (!promBin || !amBin) {
      skipped = true;
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-pipeline-'));
    const config = defaultConfig();
    config.exporter.listen = '127.0.0.1:0';
    config.exporter.bearer_token_file = new Secret(metricsToken);
    config.collectors.containers.enabled = false;
    exporter = await startExporter({ config, log: silentLogger, version: 'test' });
    // A real notifier for its scrape job (job "watchpost-notifier"), so WatchpostNotifierDown stays
    // quiet; Alertmanager still posts to the loopback receiver below.
    notifier = await startNotifier({
      config: {
        ...config.notifier,
        state_dir: join(dir, 'notifier'),
        bearer_token_file: new Secret('notifier-scrape-token-5b1f'),
      },
      log: silentLogger,
      listen: '127.0.0.1:0',
      channels: [],
    });

    receiver = await startReceiver();
    am = await startAlertmanager(amBin, receiver.url, 'notifier-token-77d1');

    prometheus = await startPrometheus(promBin, {
      exporter: `127.0.0.1:${exporter.address.port}`,
      notifier: `127.0.0.1:${notifier.address.port}`,
      alertmanager: am.url,
      metricsToken,
      notifierToken: 'notifier-scrape-token-5b1f',
      scrapeInterval: '1s',
      evaluationInterval: '1s',
    });
    promUrl = prometheus.url;
    promConfig = prometheus.configFile;
  });

  after(async () => {
    await prometheus?.stop();
    await am?.stop();
    await receiver?.close();
    await exporter?.close();
    await notifier?.close();
  });

  it('the shipped prometheus.yml is valid (promtool check config)', (t) => {
    if (skipped) return t.skip('prometheus not installed');
    const r = spawnSync('promtool', ['check', 'config', promConfig], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('Prometheus scrapes the exporter with the bearer token and sees its metrics', async (t) => {
    if (skipped) return t.skip('prometheus not installed');
    const query = async (q: string) => {
      const res = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return res.data.result;
    };
    const up = await eventually(
      async () => {
        const r = await query('up{job="watchpost"}');
        return r[0]?.value[1] === '1' ? r : undefined;
      },
      30_000,
      'target up',
    );
    assert.equal(up.length, 1);
    const success = await eventually(
      async () => {
        const r = await query('watchpost_collector_success');
        return r.length >= 2 ? r : undefined;
      },
      30_000,
      'collector metrics',
    );
    for (const s of success) assert.equal(s.value[1], '1', `collector ${s.metric.collector}`);
    await eventually(
      async () => {
        const r = await query('watchpost_notifier_outbox_depth{job="watchpost-notifier"}');
        return r[0]?.value[1] === '0' ? r : undefined;
      },
      30_000,
      'notifier target scraped',
    );
  });

  it('Watchdog goes through Alertmanager to the heartbeat, and a healthy host raises nothing else', async (t) => {
    if (skipped) return t.skip('prometheus not installed');
    const heartbeat = await eventually(
      () => receiver!.received.find((r) => r.path === '/heartbeat'),
      60_000,
      'Watchdog at the heartbeat endpoint',
    );
    assert.equal(heartbeat.body.version, '4');
    assert.equal(heartbeat.body.alerts[0]?.labels.alertname, 'Watchdog');
    assert.equal(heartbeat.body.alerts[0]?.annotations.runbook_url, 'docs/runbooks/Watchdog.md');
    assert.equal(heartbeat.auth, 'Bearer notifier-token-77d1');
    // Prometheus may evaluate the rules once before its first scrape, when
    // absent(up{job="watchpost"}) is briefly pending (its for: is 5m, so it cannot fire).
    // What counts is the steady state: within a few evaluations only Watchdog is active.
    let others: string[] = [];
    await eventually(
      async () => {
        const alerts = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as {
          data: { alerts: { labels: Record<string, string>; state: string }[] };
        };
        others = alerts.data.alerts
          .filter((a) => a.labels.alertname !== 'Watchdog')
          .map((a) => `${a.labels.alertname} ${a.state}`);
        return others.length === 0 ? true : undefined;
      },
      15_000,
      'only Watchdog active',
    ).catch(() => assert.deepEqual(others, [], 'on a healthy host only Watchdog is active'));
    assert.ok(!receiver!.received.some((r) => r.path === '/alerts'), 'nothing paged');
  });
});
