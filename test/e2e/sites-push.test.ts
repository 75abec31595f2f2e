import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { OVERLAY_FILE, runInit } from '../../bootstrap/init.js';
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
 * sites. Two are scraped by Debian's vmagent run with the flags and the scrape config
 * `watchpost init --role agent` writes (only addresses, container paths and the interval
 * swapped), which push through the write proxy (HTTPS, push token) to the central Prometheus
 * running the shipped central config; it forwards to a real VictoriaMetrics. The third is pulled
 * through file_sd with TLS and the metrics token. Then one agent stops: SiteUnreachable pages
 * for its site, and nothing else about that site reaches the receiver behind a real Alertmanager
 * running the shipped config. Last, the link breaks: the write proxy stops for a while, and what
 * the other agent scraped meanwhile reaches VictoriaMetrics once the proxy is back.
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
  { skip: skipWithout('prometheus', 'prometheus-alertmanager', 'victoria-metrics', 'vmagent', 'openssl') },
  () => {
    it('labels every series with site and host, stores all three hosts, and pages SiteUnreachable alone', async (t) => {
      const prom = requireBinary(t, 'prometheus');
      const amBin = prom && requireBinary(t, 'prometheus-alertmanager');
      const vmBin = amBin && requireBinary(t, 'victoria-metrics');
      const vmagentBin = vmBin && requireBinary(t, 'vmagent');
      const openssl = vmagentBin && requireBinary(t, 'openssl');
      if (!prom || !amBin || !vmBin || !vmagentBin || !openssl) return;

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
        const startProxy = (listen: string) =>
          startCli(
            [
              'write-proxy',
              '--listen',
              listen,
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
        let proxy = await startProxy('127.0.0.1:0');
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

        // --- two sites: vmagent with the flags and the scrape config init writes
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
          const install = join(app, 'watchpost');
          // The container's paths, pointed at the files init wrote; compose's defaults applied.
          const local = (text: string) =>
            text
              .replaceAll('/run/secrets/watchpost_metrics_token', join(dir, 'metrics-token'))
              .replaceAll('/run/secrets/watchpost_', `${join(install, 'secrets')}/`)
              .replaceAll('/etc/vmagent/', `${join(install, 'agent')}/`)
              .replaceAll('/var/lib/vmagent', join(install, 'agent-queue'))
              .replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
          const scrape = local(readFileSync(join(install, 'agent', 'scrape.yml'), 'utf8'))
            .replace('scrape_interval: 15s', 'scrape_interval: 1s')
            .replace('watchpost-exporter:9850', `127.0.0.1:${exporterPort}`);
          assert.match(scrape, new RegExp(`site: '${site}'`));
          writeFileSync(join(app, 'scrape.yml'), scrape);
          const overlay = parse(readFileSync(join(app, OVERLAY_FILE), 'utf8'), { merge: true }) as {
            services: Record<string, { command: string[] }>;
          };
          const port = await freePort();
          const flags = overlay.services['watchpost-agent']!.command.map(local).map((f) =>
            f.startsWith('-promscrape.config=')
              ? `-promscrape.config=${join(app, 'scrape.yml')}`
              : f.startsWith('-httpListenAddr=')
                ? `-httpListenAddr=127.0.0.1:${port}`
                : f,
          );
          assert.ok(flags.includes(`-remoteWrite.url=${pushUrl}`), flags.join(' '));
          assert.ok(flags.includes(`-remoteWrite.tlsCAFile=${join(install, 'agent', 'central-ca.pem')}`));
          const p = spawnUntilStopped(vmagentBin, flags);
          stops.push(p);
          await ready(`http://127.0.0.1:${port}/health`, `agent ${site} ready`);
          return { ...p, queue: join(install, 'agent-queue'), url: `http://127.0.0.1:${port}` };
        };
        const parisAgent = await agent('paris', 'recorder-1', paris.port);
        const lyonAgent = await agent('lyon', 'recorder-2', lyon.port);

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

        // --- the link breaks: the write proxy stops, lyon's agent keeps scraping into its queue,
        // and what it scraped meanwhile reaches VictoriaMetrics once the proxy is back
        const lyonUp = 'up{job="watchpost", site="lyon", host="recorder-2"}';
        /** Raw sample times (s) of lyon's `up` in VictoriaMetrics over the last `seconds`. */
        const lyonTimes = async (seconds: number) => {
          const series = await vmQuery(`${lyonUp}[${seconds}s]`);
          assert.ok(series.length <= 1, JSON.stringify(series.map((r) => r.metric)));
          return ((series[0] as unknown as { values?: [number, string][] } | undefined)?.values ?? []).map(
            ([ts]) => ts,
          );
        };
        await eventually(
          async () => (await lyonTimes(5)).length > 0,
          60_000,
          "lyon's samples arriving before the outage",
        );
        const proxyPort = proxy.port;
        await proxy.stop();
        const outageStart = Date.now() / 1000;
        // A broken link for a while: the agent scrapes every second meanwhile.
        await new Promise((r) => setTimeout(r, 15_000));
        const outageEnd = Date.now() / 1000;
        // Nothing scraped after the first seconds of the outage reached the store: it was real.
        const during = await lyonTimes(Math.ceil(outageEnd - outageStart) + 1);
        assert.deepEqual(
          during.filter((ts) => ts > outageStart + 3),
          [],
          'samples arrived while the write proxy was down',
        );
        // What a sample costs in the queue: vmagent queues the compressed blocks it sends.
        const metric = (text: string, name: string) =>
          Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
        const blocks = await (await fetch(`${lyonAgent.url}/metrics`)).text();
        const perSample =
          metric(blocks, 'vmagent_remotewrite_block_size_bytes_sum') /
          metric(blocks, 'vmagent_remotewrite_block_size_rows_sum');
        const queued = readdirSync(lyonAgent.queue, { recursive: true })
          .map((f) => statSync(join(lyonAgent.queue, f as string)))
          .filter((st) => st.isFile())
          .reduce((sum, st) => sum + st.size, 0);
        t.diagnostic(
          `lyon's agent: ${perSample.toFixed(1)} bytes a sample in its blocks; ${queued} bytes in its queue folder after ${Math.round(outageEnd - outageStart)} s of outage`,
        );

        proxy = await startProxy(`127.0.0.1:${proxyPort}`);
        // Back: every second of the outage is in the store, the scrapes of the outage included.
        const window = Math.ceil(Date.now() / 1000 - outageStart) + 10;
        const gaps = await eventually(
          async () => {
            const times = (await lyonTimes(window)).filter((ts) => ts >= outageStart - 5);
            // Pushing again: a sample newer than the outage arrived, so the queue was sent.
            if (!times.some((ts) => ts > outageEnd + 1)) return undefined;
            const inOutage = times.filter((ts) => ts > outageStart + 3 && ts < outageEnd);
            const gap = Math.max(...times.slice(1).map((ts, i) => ts - times[i]!));
            return { inOutage: inOutage.length, gap };
          },
          180_000,
          "lyon's samples of the outage in VictoriaMetrics",
        );
        // Scraped every second: without the queue the gap would be the outage's 15 s.
        assert.ok(gaps.inOutage >= 8, JSON.stringify(gaps));
        assert.ok(gaps.gap <= 5, JSON.stringify(gaps));
        // And no block was refused on the way (the central Prometheus refuses a block holding a
        // sample older than one it has: what parallel queues sending the backlog cause).
        const agentMetrics = await (await fetch(`${lyonAgent.url}/metrics`)).text();
        const dropped = /^vmagent_remotewrite_packets_dropped_total\{[^}]*\} (\S+)$/m.exec(agentMetrics);
        assert.ok(dropped, 'vmagent_remotewrite_packets_dropped_total exposed');
        assert.equal(Number(dropped[1]), 0, 'blocks refused by the central side');
        const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${lyonAgent.proc.pid}/status`, 'utf8'));
        if (peak) t.diagnostic(`lyon's vmagent peak RSS: ${(Number(peak[1]) / 1024).toFixed(1)} MiB`);
      } finally {
        await cleanup();
      }
    });
  },
);
