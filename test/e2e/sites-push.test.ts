import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runInit } from '../../bootstrap/init.js';
import { startAlertmanager, startReceiver } from '../../internal/testing/alertmanager.js';
import { makeCa } from '../../internal/testing/certs.js';
import {
  ROOT,
  eventually,
  freePort,
  requireBinary,
  runCli,
  skipWithout,
  startCli,
  type RunningCli,
} from '../../internal/testing/helpers.js';
import { startCentralPrometheus } from './central.js';

/**
 * "Sites pushing" (docs/scaling.md) with the real programs on loopback: three exporters at three
 * sites. Two are scraped by Prometheus agents running the config `watchpost init --role agent`
 * writes (only addresses, secret paths and the interval swapped), which push through the
 * write proxy (HTTPS, push token) to the central Prometheus running the shipped central config;
 * it forwards to a real VictoriaMetrics. The third is pulled through file_sd with TLS and the
 * metrics token. Then one agent stops: SiteUnreachable pages for its site, and nothing else about
 * that site reaches the receiver behind a real Alertmanager running the shipped config.
 */

const METRICS_TOKEN = 'sites-metrics-token-5b1e0c';
const PUSH_TOKEN = 'sites-push-token-8d27fa';

interface Proc {
  stop(): Promise<void>;
}

function spawnUntilStopped(bin: string, args: string[]): Proc & { proc: ChildProcess } {
  const proc = spawn(bin, args, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

async function ready(url: string, what: string): Promise<void> {
  await eventually(async () => ((await fetch(url)).ok ? true : undefined), 60_000, what);
}

/** The shipped site and exporter rules, with SiteUnreachable's window and wait shortened. */
function shortenedRules(dir: string): string {
  const rules = join(dir, 'rules');
  mkdirSync(rules);
  const sites = readFileSync(join(ROOT, 'alerts', 'sites.rules.yml'), 'utf8');
  const short = sites.replace('[3m]) == 1)', '[30s]) == 1)').replace(/for: 2m/g, 'for: 5s');
  assert.notEqual(short, sites, 'the SiteUnreachable rule changed: update this test');
  assert.match(short, /\[30s\]\) == 1\)/);
  writeFileSync(join(rules, 'sites.rules.yml'), short);
  writeFileSync(join(rules, 'meta.rules.yml'), readFileSync(join(ROOT, 'alerts', 'meta.rules.yml'), 'utf8'));
  return join(rules, '*.rules.yml');
}

describe(
  'sites pushing through agents to the central Prometheus and VictoriaMetrics',
  { skip: skipWithout('prometheus', 'prometheus-alertmanager', 'victoria-metrics', 'openssl') },
  () => {
    it('labels every series with site and host, stores all three hosts, and pages SiteUnreachable alone', async (t) => {
      const prom = requireBinary(t, 'prometheus');
      const amBin = prom && requireBinary(t, 'prometheus-alertmanager');
      const vmBin = amBin && requireBinary(t, 'victoria-metrics');
      const openssl = vmBin && requireBinary(t, 'openssl');
      if (!prom || !amBin || !vmBin || !openssl) return;

      const dir = mkdtempSync(join(tmpdir(), 'watchpost-sites-'));
      const ca = makeCa(openssl, dir);
      writeFileSync(join(dir, 'metrics-token'), `${METRICS_TOKEN}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'push-token'), `${PUSH_TOKEN}\n`, { mode: 0o600 });
      const stops: Proc[] = [];
      const cleanup = async () => {
        for (const s of stops.reverse()) await s.stop().catch(() => {});
      };
      try {
        // --- the central host: VictoriaMetrics, Alertmanager, the central Prometheus, the write proxy
        const vmPort = await freePort();
        const vmUrl = `http://127.0.0.1:${vmPort}`;
        stops.push(
          spawnUntilStopped(vmBin, [
            `-storageDataPath=${join(dir, 'vm')}`,
            `-httpListenAddr=127.0.0.1:${vmPort}`,
            '-retentionPeriod=1',
            // Samples become visible to queries at once (default: 30 s after they arrive).
            '-search.latencyOffset=1s',
            '-search.disableCache',
          ]),
        );
        await ready(`${vmUrl}/health`, 'victoria-metrics ready');

        const receiver = await startReceiver();
        stops.push({ stop: () => receiver.close() });
        const am = await startAlertmanager(amBin, receiver.url, 'unused-notifier-token');
        stops.push({ stop: () => am.stop() });

        const targetsDir = join(dir, 'targets');
        mkdirSync(targetsDir);
        const central = await startCentralPrometheus(prom, {
          targetsDir,
          caFile: ca.caFile,
          metricsToken: METRICS_TOKEN,
          alertmanager: am.url,
          remoteWrite: `${vmUrl}/api/v1/write`,
          ruleFiles: shortenedRules(dir),
          interval: '1s',
        });
        stops.push(central);

        const proxyCert = ca.issue('write-proxy');
        const proxy = await startCli(
          [
            'write-proxy',
            '--listen',
            '127.0.0.1:0',
            '--upstream',
            central.url,
            '--push-token-file',
            join(dir, 'push-token'),
            '--tls-cert',
            proxyCert.certFile,
            '--tls-key',
            proxyCert.keyFile,
          ],
          {},
          { service: 'write-proxy' },
        );
        stops.push({ stop: async () => void (await proxy.stop()) });
        const pushUrl = `https://127.0.0.1:${proxy.port}/api/v1/write`;

        // --- three exporters; the third serves TLS and is pulled
        const exporter = async (name: string, tls: boolean): Promise<RunningCli> => {
          const cert = tls ? ca.issue(name) : undefined;
          const config = join(dir, `${name}.yml`);
          writeFileSync(
            config,
            [
              'exporter:',
              '  listen: 127.0.0.1:0',
              `  bearer_token_file: ${join(dir, 'metrics-token')}`,
              ...(cert ? [`  tls: { cert_file: ${cert.certFile}, key_file: ${cert.keyFile} }`] : []),
              'collectors:',
              '  containers: { enabled: false }',
              '',
            ].join('\n'),
          );
          const e = await startCli(['exporter', '--config', config]);
          stops.push({ stop: async () => void (await e.stop()) });
          return e;
        };
        const paris = await exporter('paris', false);
        const lyon = await exporter('lyon', false);
        const nice = await exporter('nice', true);

        // --- two sites: the agent config init writes, run by Prometheus in agent mode
        const agent = async (site: string, host: string, exporterPort: number) => {
          const app = join(dir, `site-${site}`);
          mkdirSync(app);
          writeFileSync(join(app, 'docker-compose.yml'), 'services:\n  recorder:\n    image: busybox:1\n');
          await runInit({
            composeFiles: [],
            cwd: app,
            env: {},
            out: () => {},
            dockerSocket: '/nonexistent.sock',
            role: 'agent',
            agent: {
              centralUrl: pushUrl,
              site,
              host,
              centralCaFile: ca.caFile,
              pushTokenFile: join(dir, 'push-token'),
            },
          });
          const generated = readFileSync(join(app, 'watchpost', 'agent', 'prometheus.yml'), 'utf8');
          const config = generated
            .replace('scrape_interval: 15s', 'scrape_interval: 1s')
            .replace('watchpost-exporter:9850', `127.0.0.1:${exporterPort}`)
            .replace('/run/secrets/watchpost_metrics_token', join(dir, 'metrics-token'))
            .replace('/run/secrets/watchpost_push_token', join(app, 'watchpost', 'secrets', 'push_token'))
            .replace('/etc/prometheus/central-ca.pem', join(app, 'watchpost', 'agent', 'central-ca.pem'))
            .replace(/max_shards: \d+/, 'max_shards: 10\n      batch_send_deadline: 1s');
          assert.match(config, new RegExp(`url: '${pushUrl.replaceAll('.', '\\.')}'`));
          writeFileSync(join(app, 'agent.yml'), config);
          const port = await freePort();
          const p = spawnUntilStopped(prom, [
            '--enable-feature=agent',
            `--config.file=${join(app, 'agent.yml')}`,
            `--storage.agent.path=${join(app, 'wal')}`,
            `--web.listen-address=127.0.0.1:${port}`,
          ]);
          stops.push(p);
          await ready(`http://127.0.0.1:${port}/-/ready`, `agent ${site} ready`);
          return p;
        };
        const parisAgent = await agent('paris', 'recorder-1', paris.port);
        await agent('lyon', 'recorder-2', lyon.port);

        const added = runCli([
          'targets',
          'add',
          `127.0.0.1:${nice.port}`,
          '--site',
          'nice',
          '--host',
          'recorder-3',
          '--file',
          join(targetsDir, 'exporters.json'),
        ]);
        assert.equal(added.status, 0, added.stderr);

        // --- every exporter's series reach the central Prometheus, labelled with site and host
        const hosts = ['lyon/recorder-2', 'nice/recorder-3', 'paris/recorder-1'];
        const upHosts = async (query: (q: string) => Promise<{ metric: Record<string, string> }[]>) =>
          (await query('max by (site, host) (last_over_time(up{job="watchpost"}[1m]))'))
            .map((r) => `${r.metric.site}/${r.metric.host}`)
            .sort();
        await eventually(
          async () => JSON.stringify(await upHosts(central.query)) === JSON.stringify(hosts),
          120_000,
          'the three hosts in the central Prometheus',
        );
        const builds = await central.query('watchpost_exporter_build_info');
        assert.deepEqual(builds.map((r) => `${r.metric.site}/${r.metric.host}`).sort(), hosts);
        // No series of an exporter arrives without its site (the rules' ALERTS aside).
        assert.deepEqual(await central.query('count({job="watchpost", site="", __name__!~"ALERTS.*"})'), []);
        assert.deepEqual(await central.query('count({job="watchpost", host="", __name__!~"ALERTS.*"})'), []);

        // --- VictoriaMetrics holds all three hosts, labelled, for Grafana
        const vmQuery = async (q: string) =>
          (
            (await (await fetch(`${vmUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
              data: { result: { metric: Record<string, string>; value: [number, string] }[] };
            }
          ).data.result;
        await eventually(
          async () => JSON.stringify(await upHosts(vmQuery)) === JSON.stringify(hosts),
          120_000,
          'the three hosts in VictoriaMetrics',
        );
        await eventually(
          async () =>
            JSON.stringify(
              (await vmQuery('count by (site, host) (last_over_time(watchpost_exporter_build_info[1m]))'))
                .map((r) => `${r.metric.site}/${r.metric.host}`)
                .sort(),
            ) === JSON.stringify(hosts),
          60_000,
          'the exporters series in VictoriaMetrics',
        );
        assert.deepEqual(
          await vmQuery('count(last_over_time({job="watchpost", site="", __name__!~"ALERTS.*"}[1m]))'),
          [],
        );

        // --- one site goes dark: its agent stops pushing
        await parisAgent.stop();
        const firing = await eventually(
          async () =>
            receiver.received
              .flatMap((r) => r.body.alerts)
              .find((a) => a.labels.alertname === 'SiteUnreachable' && a.status === 'firing'),
          180_000,
          'SiteUnreachable delivered for paris',
        );
        assert.equal(firing.labels.site, 'paris');
        assert.equal(firing.labels.severity, 'critical');
        // The sites still pushing or pulled are not unreachable.
        const alerts = await central.alerts();
        assert.deepEqual(
          alerts
            .filter((a) => a.labels.alertname === 'SiteUnreachable')
            .map((a) => a.labels.site)
            .sort(),
          ['paris'],
        );
        // Nothing per target about paris reached the receiver: the site pages once.
        const aboutParis = receiver.received
          .flatMap((r) => r.body.alerts)
          .filter((a) => a.labels.site === 'paris' && a.labels.alertname !== 'SiteUnreachable');
        assert.deepEqual(aboutParis, []);
        // Nor is one pending behind it in Alertmanager unmuted.
        const amAlerts = (await (
          await fetch(`${am.url}/api/v2/alerts?inhibited=false&silenced=false`)
        ).json()) as {
          labels: Record<string, string>;
        }[];
        assert.deepEqual(
          amAlerts.filter((a) => a.labels.site === 'paris').map((a) => a.labels.alertname),
          ['SiteUnreachable'],
        );
      } finally {
        await cleanup();
      }
    });
  },
);
