import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, eventually, freePort } from './helpers.js';

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

export interface RunningPrometheus {
  url: string;
  /** The rewritten provisioning/prometheus/prometheus.yml it runs. */
  configFile: string;
  query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  alerts(): Promise<PromAlert[]>;
  stop(): Promise<void>;
}

/**
 * Runs Debian's Prometheus with the shipped provisioning/prometheus/prometheus.yml and
 * alerts/*.rules.yml. Only addresses, secret paths and the scrape and evaluation intervals
 * are swapped for the test's own; every rule (for:, keep_firing_for:) is the shipped one.
 */
export async function startPrometheus(
  binary: string,
  o: {
    exporter: string;
    notifier: string;
    alertmanager: string;
    metricsToken: string;
    notifierToken: string;
    scrapeInterval: string;
    evaluationInterval: string;
    resendDelay?: string;
  },
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-prom-'));
  writeFileSync(join(dir, 'metrics-token'), `${o.metricsToken}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'notifier-token'), `${o.notifierToken}\n`, { mode: 0o600 });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    readFileSync(join(ROOT, 'provisioning', 'prometheus', 'prometheus.yml'), 'utf8')
      .replace(/scrape_interval: \d+s/, `scrape_interval: ${o.scrapeInterval}`)
      .replace(/evaluation_interval: \d+s/, `evaluation_interval: ${o.evaluationInterval}`)
      .replace('/etc/prometheus/rules/*.rules.yml', join(ROOT, 'alerts', '*.rules.yml'))
      .replace('watchpost-alertmanager:9093', o.alertmanager.replace('http://', ''))
      .replace('watchpost-exporter:9850', o.exporter)
      .replace('/run/secrets/watchpost_metrics_token', join(dir, 'metrics-token'))
      .replace('watchpost-notifier:9851', o.notifier)
      .replace('/run/secrets/watchpost_notifier_token', join(dir, 'notifier-token')),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--rules.alert.resend-delay=${o.resendDelay ?? '1s'}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await eventually(
    async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
    30_000,
    'prometheus ready',
  );
  // An alert that fires before Prometheus has discovered Alertmanager is sent only after the resend delay.
  await eventually(
    async () => {
      const r = (await (await fetch(`${url}/api/v1/alertmanagers`)).json()) as {
        data: { activeAlertmanagers: unknown[] };
      };
      return r.data.activeAlertmanagers.length > 0 ? true : undefined;
    },
    30_000,
    'prometheus discovers alertmanager',
  );
  return {
    url,
    configFile,
    async query(q) {
      const r = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return r.data.result;
    },
    async alerts() {
      const r = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
      return r.data.alerts;
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
