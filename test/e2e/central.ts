import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, eventually, freePort } from '../../internal/testing/helpers.js';
import type { PromAlert } from '../../internal/testing/prometheus.js';

export interface RunningCentral {
  url: string;
  configFile: string;
  query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  alerts(): Promise<PromAlert[]>;
  /** The active targets of a job, with their health. */
  targets(job: string): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

/**
 * Runs Debian's Prometheus with the shipped provisioning/central/prometheus.yml as the central
 * Prometheus of docs/scaling.md (remote-write receiver on). Only addresses, secret and CA paths,
 * the target files' folder, the intervals and the rule files are swapped for the test's own;
 * without `remoteWrite` its remote_write block is dropped.
 */
export async function startCentralPrometheus(
  binary: string,
  o: {
    targetsDir: string;
    caFile: string;
    metricsToken: string;
    notifier?: string;
    notifierToken?: string;
    alertmanager?: string;
    remoteWrite?: string;
    ruleFiles?: string;
    interval: string;
  },
): Promise<RunningCentral> {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-central-'));
  writeFileSync(join(dir, 'metrics-token'), `${o.metricsToken}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'notifier-token'), `${o.notifierToken ?? 'unused'}\n`, { mode: 0o600 });
  let text = readFileSync(join(ROOT, 'provisioning', 'central', 'prometheus.yml'), 'utf8')
    .replace(/scrape_interval: \d+s/, `scrape_interval: ${o.interval}`)
    .replace(/evaluation_interval: \d+s/, `evaluation_interval: ${o.interval}`)
    .replace('/etc/prometheus/rules/*.rules.yml', o.ruleFiles ?? join(ROOT, 'alerts', '*.rules.yml'))
    .replace('watchpost-alertmanager:9093', (o.alertmanager ?? 'http://127.0.0.1:1').replace('http://', ''))
    .replace('/etc/watchpost/tls/ca.pem', o.caFile)
    .replace('/etc/watchpost/targets/*.json', join(o.targetsDir, '*.json'))
    .replace('/run/secrets/watchpost_metrics_token', join(dir, 'metrics-token'))
    .replace('/run/secrets/watchpost_notifier_token', join(dir, 'notifier-token'))
    .replace('watchpost-notifier:9851', o.notifier ?? '127.0.0.1:1')
    .replace(
      /file_sd_configs:\n(\s+)- files: (.*)/,
      `file_sd_configs:\n$1- files: $2\n$1  refresh_interval: 1s`,
    );
  text = o.remoteWrite
    ? text.replace('http://watchpost-victoriametrics:8428/api/v1/write', o.remoteWrite)
    : text.replace(/remote_write:\n(?: +.*\n)+\n?/, '');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--rules.alert.resend-delay=1s',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await eventually(
    async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
    30_000,
    'prometheus ready',
  );
  const api = async <T>(path: string): Promise<T> =>
    ((await (await fetch(`${url}${path}`)).json()) as { data: T }).data;
  return {
    url,
    configFile,
    query: async (q) =>
      (
        await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
          `/api/v1/query?query=${encodeURIComponent(q)}`,
        )
      ).result,
    alerts: async () => (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts,
    targets: async (job) =>
      (
        await api<{
          activeTargets: {
            labels: Record<string, string>;
            health: string;
            lastError: string;
            scrapePool: string;
          }[];
        }>('/api/v1/targets?state=active')
      ).activeTargets.filter((t) => t.scrapePool === job),
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
