import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../config/load.js';
import { DEFAULT_EXCLUDED_DEVICES } from '../../exporter/collectors/network/config.js';
import { silentLogger } from '../../internal/log.js';
import { Secret } from '../../internal/secret.js';
import {
  annotationQueries,
  interpolate,
  panelQueries,
  variableQueries,
  type DashboardJson,
  type DashboardQuery,
} from '../../dashboards/queries.js';
import { startExporter, type ExporterHandle } from '../../exporter/run.js';
import { startNotifier, type NotifierHandle } from '../../notifier/run.js';
import { startAlertmanager, type RunningAlertmanager } from '../../internal/testing/alertmanager.js';
import { TestContainers, requireDocker } from '../../internal/testing/docker.js';
import { ROOT, eventually, freePort, requireBinary, skipWithout } from '../../internal/testing/helpers.js';
import { RtmpLab } from '../../internal/testing/rtmp.js';

/**
 * Every query of every shipped dashboard (dashboards/*.json), sent to a real Prometheus that
 * scrapes a real exporter and notifier with the shipped prometheus.yml and rules, in a state
 * where every collector has something to show: containers on the real dockerd (running,
 * healthy, unhealthy, exited with an error, one expected that does not exist), real nginx-rtmp
 * with an FFmpeg publisher and reader (and one expected camera missing), a reachable HTTP and
 * HTTPS dependency and a refused one, a backup file, sshd and nginx log lines, a real
 * Alertmanager sending the heartbeat and the notifications to the notifier. Each query must be
 * valid PromQL and return at least one series, unless it is listed in NO_DATA with the reason.
 */

/**
 * Queries that cannot have data in this state, keyed by "<dashboard uid> panel <id> <refId>":
 * the test checks that they are valid PromQL, but not that they return series.
 */
const NO_DATA: Record<string, string> = {
  'watchpost-host-and-disks panel 5 G':
    'time to full exists only for a filesystem that is losing space (deriv < 0) over the window',
  'watchpost-containers panel 9 B': 'watchpost_docker_down_reason is absent while Docker answers',
  'watchpost-self-monitoring panel 6 A':
    'watchpost_notifier_failures_total has a series only after a failed delivery; every delivery here succeeds',
  ...(hasLinkSpeed()
    ? {}
    : {
        'watchpost-host-and-disks panel 12 C':
          'no interface the collector reports here has a link speed (virtual NICs read -1 or refuse)',
      }),
  ...(hasHwmonSensors()
    ? {}
    : {
        'watchpost-host-and-disks panel 13 A': 'this machine has no hwmon temperature sensor',
        'watchpost-host-and-disks panel 13 B': 'this machine has no hwmon temperature sensor',
      }),
};

/** Whether an interface the network collector reports here (not excluded by default, or lo) has a speed. */
function hasLinkSpeed(): boolean {
  try {
    return readdirSync('/sys/class/net')
      .filter((dev) => dev === 'lo' || !new RegExp(DEFAULT_EXCLUDED_DEVICES).test(dev))
      .some((dev) => {
        try {
          return Number(readFileSync(join('/sys/class/net', dev, 'speed'), 'utf8')) > 0;
        } catch {
          return false;
        }
      });
  } catch {
    return false;
  }
}

/** Whether /sys/class/hwmon has a temperature input (most virtual machines have none). */
function hasHwmonSensors(): boolean {
  try {
    return readdirSync('/sys/class/hwmon').some((chip) =>
      readdirSync(join('/sys/class/hwmon', chip)).some((f) => /^temp\d+_input$/.test(f)),
    );
  } catch {
    return false;
  }
}

const skip = skipWithout('prometheus', 'prometheus-alertmanager', 'nginx', 'ffmpeg', 'openssl', 'docker');

describe(
  'dashboards: every panel, variable and annotation query returns data from the real pipeline',
  { skip },
  () => {
    const dashboards = readdirSync(join(ROOT, 'dashboards'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(ROOT, 'dashboards', f), 'utf8')) as DashboardJson);
    const containers = new TestContainers();
    const servers: Server[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-dashboards-'));
    let lab: RtmpLab | undefined;
    let exporter: ExporterHandle | undefined;
    let notifier: NotifierHandle | undefined;
    let am: RunningAlertmanager | undefined;
    let prometheus: ChildProcess | undefined;
    let promUrl = '';
    let ready = false;

    async function query(expr: string): Promise<{ metric: Record<string, string> }[]> {
      const res = await fetch(`${promUrl}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: expr }),
      });
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string> }[] };
      };
      if (body.status !== 'success') throw new Error(`${body.error ?? res.status}: ${expr}`);
      assert.equal(body.data?.resultType, 'vector', expr);
      return body.data!.result;
    }

    before(async (t) => {
      const promBin = requireBinary(t, 'prometheus');
      const amBin = requireBinary(t, 'prometheus-alertmanager');
      const nginxBin = requireBinary(t, 'nginx');
      const ffmpegBin = requireBinary(t, 'ffmpeg');
      const openssl = requireBinary(t, 'openssl');
      if (!promBin || !amBin || !nginxBin || !ffmpegBin || !openssl || !requireDocker(t as never)) return;

      // Containers: a healthy one with a memory limit, an unhealthy one, and (after the exporter
      // starts, so Docker events are counted) one that exits with code 3.
      const project = `${containers.prefix}app`;
      const compose = (service: string) => [
        '--label',
        `com.docker.compose.project=${project}`,
        '--label',
        `com.docker.compose.service=${service}`,
      ];
      containers.run(
        'web',
        [...compose('web'), '--memory', '64m', '--health-cmd', 'true', '--health-interval', '1s'],
        ['sleep', '600'],
      );
      containers.run(
        'sick',
        [...compose('worker'), '--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1'],
        ['sleep', '600'],
      );

      // nginx-rtmp with one publisher and one reader of cam1; cam2 is expected but never published.
      lab = new RtmpLab(nginxBin, ffmpegBin);
      await lab.startNginx();
      lab.publish('cam1');

      // Dependencies: HTTP and HTTPS servers that answer, and a port nobody listens on.
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      const r = spawnSync(
        openssl,
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '30',
          '-subj',
          '/CN=localhost',
        ]),
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const ok = (_req: unknown, res: { end: (s: string) => void }) => res.end('ok');
      const http = createHttpServer(ok);
      const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, ok);
      for (const s of [http, https]) {
        servers.push(s);
        await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      }
      const port = (s: Server) => (s.address() as { port: number }).port;
      const closedPort = await freePort();

      // A backup file, a folder to measure, and log files that appear after the start (so they
      // are read from their first line).
      mkdirSync(join(dir, 'backups'));
      writeFileSync(join(dir, 'backups', 'db-1.sql.gz'), Buffer.alloc(4096, 1));
      const authLog = join(dir, 'auth.log');
      const accessLog = join(dir, 'access.log');

      const config = parseConfigText(
        `
exporter:
  listen: 127.0.0.1:0
collectors:
  host: { interval: 1s, timeout: 1s }
  # lo is left out by default; expecting it gives the expected-interfaces panel a series.
  network: { interval: 1s, timeout: 1s, expected: [lo] }
  disk:
    interval: 1s
    timeout: 1s
    directories:
      - { path: "${join(dir, 'backups')}", interval: 1s }
  containers:
    enabled: true
    interval: 2s
    timeout: 2s
    expected:
      - { compose_project: "${project}", compose_service: web }
      - { name: "${containers.prefix}db" }
  streams:
    interval: 1s
    timeout: 1s
    servers:
      - { name: rtmp, kind: nginx-rtmp, url: "${lab.statUrl}", max_streams: 4 }
    expected:
      - { server: rtmp, app: live, stream: cam1 }
      - { server: rtmp, app: live, stream: cam2 }
  ffmpeg:
    interval: 1s
    timeout: 1s
    groups:
      - { name: publishers, match: "-f flv rtmp://127\\\\.0\\\\.0\\\\.1:${lab.rtmpPort}/", expected: 1 }
      - { name: readers, match: "-i rtmp://127\\\\.0\\\\.0\\\\.1:${lab.rtmpPort}/", expected: 1 }
  dependencies:
    interval: 2s
    timeout: 2s
    targets:
      - { name: api, kind: http, url: "http://127.0.0.1:${port(http)}/health", probe_timeout: 1s }
      - { name: minio, kind: https, url: "https://127.0.0.1:${port(https)}/", tls_verify: false, probe_timeout: 1s }
      - { name: db, kind: tcp, address: "127.0.0.1:${closedPort}", probe_timeout: 1s }
  backups:
    interval: 1s
    timeout: 1s
    checks:
      - { name: postgres, path: "${join(dir, 'backups')}/*.sql.gz", max_age: 1d, min_size: 1KiB }
  logs:
    interval: 1s
    timeout: 1s
    sources:
      - { name: ssh, file: "${authLog}", format: sshd }
      - { name: proxy, file: "${accessLog}", format: nginx }
`,
        join(dir, 'watchpost.yml'),
        {},
      );
      const metricsToken = 'dashboards-metrics-token-41c9';
      const notifierToken = 'dashboards-notifier-token-8e02';
      config.exporter.bearer_token_file = new Secret(metricsToken);
      exporter = await startExporter({ config, log: silentLogger, version: 'test' });
      notifier = await startNotifier({
        config: {
          ...config.notifier,
          state_dir: join(dir, 'notifier'),
          bearer_token_file: new Secret(notifierToken),
        },
        log: silentLogger,
        listen: '127.0.0.1:0',
      });
      am = await startAlertmanager(amBin, notifier.url, notifierToken);

      containers.run('crashed', [...compose('migrate')], ['sh', '-c', 'exit 3']);
      lab.read('cam1');
      writeFileSync(
        authLog,
        [
          'Nov 30 09:00:01 host sshd[101]: Failed password for root from 203.0.113.7 port 50022 ssh2',
          'Nov 30 09:00:02 host sshd[101]: Failed password for invalid user admin from 203.0.113.7 port 50023 ssh2',
          'Nov 30 09:00:03 host sshd[102]: Accepted publickey for deploy from 198.51.100.4 port 40100 ssh2',
          '',
        ].join('\n'),
      );
      const access = (code: number, path: string, method = 'GET') =>
        `198.51.100.9 - - [30/Nov/2026:09:00:00 +0000] "${method} ${path} HTTP/1.1" ${code} 12 "-" "curl/8"\n`;
      writeFileSync(accessLog, access(200, '/') + access(401, '/login', 'POST') + access(500, '/api'));

      writeFileSync(join(dir, 'metrics-token'), `${metricsToken}\n`);
      writeFileSync(join(dir, 'notifier-token'), `${notifierToken}\n`);
      const promConfig = join(dir, 'prometheus.yml');
      writeFileSync(
        promConfig,
        readFileSync(join(ROOT, 'provisioning', 'prometheus', 'prometheus.yml'), 'utf8')
          .replace(/scrape_interval: \d+s/, 'scrape_interval: 1s')
          .replace(/evaluation_interval: \d+s/, 'evaluation_interval: 1s')
          .replace('/etc/prometheus/rules/*.rules.yml', join(ROOT, 'alerts', '*.rules.yml'))
          .replace('watchpost-alertmanager:9093', am.url.replace('http://', ''))
          .replace('watchpost-exporter:9850', `127.0.0.1:${exporter.address.port}`)
          .replace('/run/secrets/watchpost_metrics_token', join(dir, 'metrics-token'))
          .replace('watchpost-notifier:9851', `127.0.0.1:${notifier.address.port}`)
          .replace('/run/secrets/watchpost_notifier_token', join(dir, 'notifier-token')),
      );
      const promPort = await freePort();
      promUrl = `http://127.0.0.1:${promPort}`;
      prometheus = spawn(
        promBin,
        [
          `--config.file=${promConfig}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--rules.alert.resend-delay=1s',
        ],
        { stdio: 'ignore' },
      );
      await eventually(
        async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined),
        30_000,
        'prometheus ready',
      );

      // The steady state every panel needs: both targets up, every collector succeeding, the
      // stream publishing, counters with two samples for rate(), a heartbeat and a delivered
      // notification (ExpectedContainerNotRunning fires after its 1m for:).
      const waitFor = (expr: string, what: string, ms = 60_000) =>
        eventually(async () => ((await query(expr)).length > 0 ? true : undefined), ms, what);
      await waitFor('count(up{job=~"watchpost|watchpost-notifier"} == 1) == 2', 'both targets up');
      await waitFor(
        'count(watchpost_collector_success) >= 8 and min(watchpost_collector_success) == 1',
        'every collector succeeding',
      );
      await waitFor('watchpost_stream_publishing{stream="cam1"} == 1', 'cam1 publishing');
      await waitFor('watchpost_ffmpeg_processes{group="readers"} >= 1', 'the reader counted');
      await waitFor('watchpost_container_exit_code == 3', 'the crashed container seen');
      await waitFor('watchpost_auth_failures_by_client_total', 'failed logins counted');
      await waitFor(
        'count_over_time(watchpost_http_responses_total{code_class="5xx"}[1m]) >= 2',
        'two samples',
      );
      await waitFor(
        'watchpost_notifier_last_heartbeat_timestamp_seconds > 0',
        'a heartbeat from Alertmanager',
      );
      await waitFor(
        'watchpost_notifier_notifications_total{result="delivered"} > 0',
        'a notification delivered',
        150_000,
      );
      await waitFor(
        'count_over_time(watchpost_notifier_delivery_duration_seconds_count[1m]) >= 2',
        'two samples',
      );
      ready = true;
    });

    after(async () => {
      if (prometheus && prometheus.exitCode === null) {
        const exited = new Promise((r) => prometheus!.once('exit', r));
        prometheus.kill('SIGTERM');
        await exited;
      }
      await am?.stop();
      await exporter?.close();
      await notifier?.close();
      await lab?.stop();
      for (const s of servers) await new Promise((r) => s.close(r));
      containers.removeAll();
      rmSync(dir, { recursive: true, force: true });
    });

    it('finds the dashboards and their queries', () => {
      assert.equal(dashboards.length, 7);
      const total = dashboards.flatMap((d) => [...panelQueries(d), ...annotationQueries(d)]).length;
      assert.ok(total > 100, `${total} queries`);
      // A reason for a query that no longer exists would hide nothing: keep the list true.
      const keys = new Set(dashboards.flatMap((d) => panelQueries(d).map(key)));
      for (const k of Object.keys(NO_DATA)) assert.ok(keys.has(k), `NO_DATA lists ${k}, which no panel has`);
    });

    function key(q: DashboardQuery): string {
      return `${q.dashboard} ${q.where.replace(/ \(.*\) /, ' ')}`;
    }

    it('every panel and annotation query is valid PromQL and returns at least one series', async (t) => {
      if (!ready) return t.skip('the pipeline did not start');
      const invalid: string[] = [];
      const empty: string[] = [];
      let asked = 0;
      for (const d of dashboards) {
        for (const q of [...panelQueries(d), ...annotationQueries(d)]) {
          const expr = interpolate(q.expr);
          asked++;
          try {
            const result = await query(expr);
            if (result.length === 0 && !NO_DATA[key(q)]) empty.push(`${key(q)}: ${expr}`);
          } catch (err) {
            invalid.push(`${key(q)}: ${(err as Error).message}`);
          }
        }
      }
      assert.deepEqual(invalid, [], 'queries Prometheus rejects');
      assert.deepEqual(empty, [], 'queries without data (fix the query, or give the reason in NO_DATA)');
      assert.ok(asked > 100, `${asked} queries`);
    });

    it('every template variable query lists at least one value; site and host none on a single host', async (t) => {
      if (!ready) return t.skip('the pipeline did not start');
      const empty: string[] = [];
      const listed: string[] = [];
      for (const d of dashboards) {
        for (const v of variableQueries(d)) {
          // What Grafana's Prometheus datasource asks for label_values(selector, label).
          const selector = interpolate(v.selector);
          const res = await fetch(
            `${promUrl}/api/v1/label/${v.label}/values?${new URLSearchParams({ 'match[]': selector })}`,
          );
          const body = (await res.json()) as { status: string; error?: string; data: string[] };
          assert.equal(body.status, 'success', `${d.uid} variable ${v.name}: ${body.error ?? ''}`);
          const values = body.data.filter((x) => x !== '');
          // This pipeline is a single-host installation: no series has a site or host label, so
          // those lists are empty and the dashboards show everything through "All" (the panel
          // queries above ran that way).
          if (v.name === 'site' || v.name === 'host') {
            if (values.length > 0) listed.push(`${d.uid} ${v.name}: ${values.join(', ')}`);
          } else if (values.length === 0) empty.push(`${d.uid} ${v.name}: ${selector}`);
        }
      }
      assert.deepEqual(empty, []);
      assert.deepEqual(listed, []);
    });

    it('the containers, streams and dependencies panels show the test state, not just any data', async (t) => {
      if (!ready) return t.skip('the pipeline did not start');
      const find = (uid: string, where: string) => {
        const d = dashboards.find((x) => x.uid === uid)!;
        const q = panelQueries(d).find((x) => key(x) === `${uid} ${where}`);
        assert.ok(q, `${uid} ${where}`);
        return interpolate(q.expr);
      };
      const exit = await query(find('watchpost-containers', 'panel 1 C'));
      assert.ok(exit.some((s) => s.metric.name === `${containers.prefix}crashed`));
      const missingStreams = await query(find('watchpost-streams', 'panel 2 A'));
      assert.deepEqual(
        missingStreams.map((s) => s.metric.stream),
        ['cam2'],
      );
      const reasons = await query(find('watchpost-dependencies-and-backups', 'panel 1 B'));
      assert.deepEqual(
        reasons.map((s) => [s.metric.name, s.metric.reason]),
        [['db', 'connect']],
      );
      const expected = await query(find('watchpost-containers', 'panel 2 A'));
      assert.equal(expected.length, 2);
      const clients = await query(find('watchpost-security', 'panel 2 A'));
      assert.ok(clients.some((s) => s.metric.client === '203.0.113.7'));
    });
  },
);

/**
 * Several hosts: two real exporters at two sites, scraped by a real Prometheus whose targets
 * carry `site` and `host` (as the central Prometheus's target files and the agents' external
 * labels set them) and the same `instance` (each site's agent scrapes its own
 * `watchpost-exporter:9850`). The variables list the sites and the hosts of the chosen site,
 * every panel query run with a site chosen shows nothing of the other site, and a query that
 * groups or joins by host keeps the two sites apart.
 */
describe(
  'dashboards: the site and host variables filter two exporters at two sites',
  { skip: skipWithout('prometheus') },
  () => {
    const dashboards = readdirSync(join(ROOT, 'dashboards'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(ROOT, 'dashboards', f), 'utf8')) as DashboardJson);
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-dashboards-sites-'));
    const exporters: ExporterHandle[] = [];
    let prometheus: ChildProcess | undefined;
    let victoria: ChildProcess | undefined;
    let promUrl = '';
    let vmUrl = '';
    // Grafana on a central host reads VictoriaMetrics (provisioning/central/grafana-datasource.yml).
    const noVictoria = skipWithout('victoria-metrics');
    const SITES = { paris: 'recorder-1', lyon: 'recorder-2' } as const;
    const INSTANCE = 'watchpost-exporter:9850';

    async function query(expr: string, base = promUrl): Promise<{ metric: Record<string, string> }[]> {
      const res = await fetch(`${base}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: expr }),
      });
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string> }[] };
      };
      if (body.status !== 'success') throw new Error(`${body.error ?? res.status}: ${expr}`);
      return body.data!.result;
    }

    /** What Grafana's Prometheus datasource asks for a variable's label_values(selector, label). */
    async function variableValues(
      uid: string,
      name: string,
      vars: Record<string, string>,
      base = promUrl,
    ): Promise<string[]> {
      const d = dashboards.find((x) => x.uid === uid)!;
      const v = variableQueries(d).find((x) => x.name === name)!;
      const res = await fetch(
        `${base}/api/v1/label/${v.label}/values?${new URLSearchParams({ 'match[]': interpolate(v.selector, vars) })}`,
      );
      const body = (await res.json()) as { status: string; error?: string; data: string[] };
      assert.equal(body.status, 'success', body.error);
      return body.data.filter((x) => x !== '').sort();
    }

    before(async (t) => {
      const promBin = requireBinary(t, 'prometheus');
      if (!promBin) return;
      const config = parseConfigText(
        `
exporter:
  listen: 127.0.0.1:0
collectors:
  host: { interval: 1s, timeout: 1s }
  disk: { interval: 1s, timeout: 1s }
  network: { interval: 1s, timeout: 1s, expected: [lo] }
  containers: { enabled: false }
`,
        join(dir, 'watchpost.yml'),
        {},
      );
      for (let i = 0; i < 2; i++)
        exporters.push(await startExporter({ config, log: silentLogger, version: 'test' }));
      const targets = Object.entries(SITES)
        .map(
          ([site, host], i) =>
            `      - targets: ["127.0.0.1:${exporters[i]!.address.port}"]\n        labels: { site: ${site}, host: ${host}, instance: "${INSTANCE}" }\n`,
        )
        .join('');
      // The central layout: Prometheus forwards every sample to VictoriaMetrics.
      let remoteWrite = '';
      if (!noVictoria) {
        const vmBin = requireBinary(t, 'victoria-metrics')!;
        const vmPort = await freePort();
        vmUrl = `http://127.0.0.1:${vmPort}`;
        victoria = spawn(
          vmBin,
          [
            `-storageDataPath=${join(dir, 'victoria-metrics')}`,
            `-httpListenAddr=127.0.0.1:${vmPort}`,
            // Answer up to now (by default the last 30 s are left out), so the test needs not wait.
            '-search.latencyOffset=0s',
          ],
          { stdio: 'ignore' },
        );
        await eventually(
          async () => {
            try {
              return (await fetch(`${vmUrl}/health`)).ok ? true : undefined;
            } catch {
              return undefined;
            }
          },
          30_000,
          'victoria-metrics ready',
        );
        remoteWrite = `remote_write:\n  - url: ${vmUrl}/api/v1/write\n    queue_config: { batch_send_deadline: 1s }\n`;
      }
      const promConfig = join(dir, 'prometheus.yml');
      writeFileSync(
        promConfig,
        `global:\n  scrape_interval: 1s\n${remoteWrite}scrape_configs:\n  - job_name: watchpost\n    static_configs:\n${targets}`,
      );
      const promPort = await freePort();
      promUrl = `http://127.0.0.1:${promPort}`;
      prometheus = spawn(
        promBin,
        [
          `--config.file=${promConfig}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: 'ignore' },
      );
      await eventually(
        async () => {
          try {
            return (await fetch(`${promUrl}/-/ready`)).ok ? true : undefined;
          } catch {
            return undefined;
          }
        },
        30_000,
        'prometheus ready',
      );
      // Both exporters up, with two samples of their counters for rate().
      await eventually(
        async () =>
          (await query('count(count_over_time(watchpost_host_cpu_seconds_total{mode="user"}[1m]) >= 3) == 2'))
            .length > 0 || undefined,
        60_000,
        'both exporters scraped three times',
      );
      if (vmUrl)
        await eventually(
          async () =>
            (
              await query(
                'count(count_over_time(watchpost_host_cpu_seconds_total{mode="user"}[1m]) >= 3) == 2',
                vmUrl,
              )
            ).length > 0 || undefined,
          60_000,
          'both exporters in VictoriaMetrics with three samples',
        );
    });

    after(async () => {
      for (const p of [prometheus, victoria]) {
        if (p && p.exitCode === null) {
          const exited = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          await exited;
        }
      }
      for (const e of exporters) await e.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('the site variable lists both sites; host and instance list those of the chosen site', async (t) => {
      if (!promUrl) return t.skip('prometheus did not start');
      for (const d of dashboards) {
        assert.deepEqual(await variableValues(d.uid, 'site', {}), ['lyon', 'paris'], d.uid);
        assert.deepEqual(await variableValues(d.uid, 'host', { site: 'paris' }), ['recorder-1'], d.uid);
        assert.deepEqual(await variableValues(d.uid, 'host', {}), ['recorder-1', 'recorder-2'], d.uid);
        assert.deepEqual(
          await variableValues(d.uid, 'instance', { site: 'lyon', host: 'recorder-2' }),
          [INSTANCE],
          d.uid,
        );
        assert.deepEqual(
          await variableValues(d.uid, 'instance', { site: 'lyon', host: 'recorder-1' }),
          [],
          d.uid,
        );
      }
    });

    it('with one site chosen, no panel query returns a series of the other site', async (t) => {
      if (!promUrl) return t.skip('prometheus did not start');
      const leaks: string[] = [];
      let withData = 0;
      for (const d of dashboards) {
        for (const q of [...panelQueries(d), ...annotationQueries(d)]) {
          const result = await query(interpolate(q.expr, { site: 'paris' }));
          if (result.length > 0) withData++;
          for (const s of result)
            if (s.metric.site !== undefined && s.metric.site !== 'paris')
              leaks.push(`${d.uid} ${q.where}: ${JSON.stringify(s.metric)}`);
        }
      }
      assert.deepEqual(leaks, []);
      // The host, disk, network and self-monitoring panels have data from these exporters.
      assert.ok(withData > 20, `${withData} queries with data`);
    });

    it('per-host panels show each site and host apart, though both exporters have the same instance', async (t) => {
      if (!promUrl) return t.skip('prometheus did not start');
      const host = dashboards.find((d) => d.uid === 'watchpost-host-and-disks')!;
      const perHost = panelQueries(host).filter((q) => /\bon\(site, host, instance\)/.test(q.expr));
      assert.ok(perHost.length > 0, 'a per-host join on the Host dashboard');
      for (const q of perHost) {
        const all = await query(interpolate(q.expr));
        assert.deepEqual(
          [...new Set(all.map((s) => `${s.metric.site} ${s.metric.host}`))].sort(),
          ['lyon recorder-2', 'paris recorder-1'],
          q.where,
        );
        const lyon = await query(interpolate(q.expr, { site: 'lyon' }));
        assert.ok(lyon.length > 0 && lyon.every((s) => s.metric.host === 'recorder-2'), q.where);
      }
      // The filter on host alone, the way a multi-select sends two values.
      const cpu = panelQueries(host).find((q) => q.expr.startsWith('watchpost_host_cpu_usage_ratio'))!;
      const two = await query(interpolate(cpu.expr, { host: '(recorder-1|recorder-2)' }));
      assert.equal(two.length, 2);
      const one = await query(interpolate(cpu.expr, { host: 'recorder-2' }));
      assert.deepEqual(
        one.map((s) => s.metric.site),
        ['lyon'],
      );
    });

    it(
      'on VictoriaMetrics, the central store Grafana reads, the variables and the site filter work the same',
      { skip: noVictoria },
      async (t) => {
        if (!vmUrl) return t.skip('victoria-metrics did not start');
        const invalid: string[] = [];
        const leaks: string[] = [];
        let withData = 0;
        for (const d of dashboards) {
          assert.deepEqual(await variableValues(d.uid, 'site', {}, vmUrl), ['lyon', 'paris'], d.uid);
          assert.deepEqual(
            await variableValues(d.uid, 'host', { site: 'paris' }, vmUrl),
            ['recorder-1'],
            d.uid,
          );
          for (const q of [...panelQueries(d), ...annotationQueries(d)]) {
            let result: { metric: Record<string, string> }[];
            try {
              result = await query(interpolate(q.expr, { site: 'paris' }), vmUrl);
            } catch (err) {
              invalid.push(`${d.uid} ${q.where}: ${(err as Error).message}`);
              continue;
            }
            if (result.length > 0) withData++;
            for (const s of result)
              if (s.metric.site !== undefined && s.metric.site !== 'paris')
                leaks.push(`${d.uid} ${q.where}: ${JSON.stringify(s.metric)}`);
          }
        }
        assert.deepEqual(invalid, [], 'queries VictoriaMetrics rejects');
        assert.deepEqual(leaks, []);
        assert.ok(withData > 20, `${withData} queries with data`);
      },
    );
  },
);
