// Fault to page, measured through the whole pipeline with the shipped files: the exporter (its own
// process), Prometheus with provisioning/prometheus/prometheus.yml and alerts/*.rules.yml at their
// shipped 15 s intervals, Alertmanager with alerts/alertmanager.yml and its shipped waits, the
// notifier, and a Slack-like receiver. Faults are injected in parallel, then the exporter is killed
// with SIGKILL while their alerts fire, then the faults are cleared. For each fault: the time from
// the fault to the page on Slack against the theoretical minimum (for: + group_wait), and the time
// from clearing it to the RESOLVED message. Bounded: every wait has a deadline; the whole run takes
// about 25 minutes.
//
// Run: npm run bench:alerts (needs prometheus, prometheus-alertmanager, dockerd and local/busybox:1;
// see scripts/install-system-deps.sh). Containers it creates are named arbench-*, and removed.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../internal/log.ts';
import { notifierSchema } from '../config/notifier-schema.ts';
import { startFakeSlack } from '../notifier/fixtures/fakes.ts';
import { startNotifier } from '../notifier/run.ts';
import { startAlertmanager } from '../internal/testing/alertmanager.ts';
import { freePort, startCli } from '../internal/testing/helpers.ts';
import { startPrometheus } from '../internal/testing/prometheus.ts';
import { writeSection } from './common.mjs';

const PREFIX = 'arbench';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (msg) =>
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
const docker = (...args) => {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const removeContainers = () => {
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', `name=^${PREFIX}-`], {
    encoding: 'utf8',
  }).stdout.trim();
  if (ids) spawnSync('docker', ['rm', '-f', ...ids.split('\n')], { encoding: 'utf8' });
};

const cleanups = [];
async function cleanup() {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-bench-alerts-'));
  const metricsToken = 'bench-metrics-token-6f02d9e1';
  const notifierToken = 'bench-notifier-token-c85a7b34';
  writeFileSync(join(dir, 'metrics-token'), `${metricsToken}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'notifier-token'), `${notifierToken}\n`, { mode: 0o600 });

  // The Slack-like receiver and the notifier in front of it.
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
  const am = await startAlertmanager('prometheus-alertmanager', notifier.url, notifierToken, {
    shippedTimings: true,
  });
  cleanups.push(() => am.stop());

  // What the faults act on.
  removeContainers();
  cleanups.push(removeContainers);
  docker(
    'run',
    '-d',
    '--name',
    `${PREFIX}-expected`,
    '--network',
    'none',
    'local/busybox:1',
    'sleep',
    '100000',
  );
  docker(
    'run',
    '-d',
    '--name',
    `${PREFIX}-health`,
    '--network',
    'none',
    '--health-cmd',
    "sh -c '[ -s /sick ] && exit 1 || exit 0'",
    '--health-interval',
    '5s',
    '--health-retries',
    '1',
    'local/busybox:1',
    'sleep',
    '100000',
  );
  const downPort = await freePort();
  let downServer;
  const listenDown = () =>
    new Promise((r) => {
      downServer = createTcpServer((s) => s.end());
      downServer.listen(downPort, '127.0.0.1', r);
    });
  await listenDown();
  cleanups.push(() => new Promise((r) => downServer.close(() => r())));
  let slowMs = 0;
  const slowServer = createServer((_req, res) => setTimeout(() => res.end('ok'), slowMs));
  await new Promise((r) => slowServer.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (slowServer.closeAllConnections(), slowServer.close(() => r()))));
  mkdirSync(join(dir, 'backups'));
  const backupFile = join(dir, 'backups', 'db.sql');
  writeFileSync(backupFile, 'CREATE TABLE t (id int);\n');
  const authLog = join(dir, 'auth.log');
  const accessLog = join(dir, 'access.log');
  writeFileSync(authLog, '');
  writeFileSync(accessLog, '');

  const exporterPort = await freePort();
  const configFile = join(dir, 'watchpost.yml');
  writeFileSync(
    configFile,
    `exporter:
  listen: 127.0.0.1:${exporterPort}
  bearer_token_file: ${join(dir, 'metrics-token')}
collectors:
  containers:
    enabled: true
    expected:
      - { name: ${PREFIX}-expected }
  dependencies:
    targets:
      - { name: ${PREFIX}-db, kind: tcp, address: "127.0.0.1:${downPort}", probe_timeout: 2s }
      - { name: ${PREFIX}-api, kind: http, url: "http://127.0.0.1:${slowServer.address().port}/", probe_timeout: 5s, slow_threshold: 1s }
  backups:
    checks:
      - { name: ${PREFIX}-pg, path: ${join(dir, 'backups')}/*.sql, max_age: 10m }
  logs:
    sources:
      - { name: ssh, file: ${authLog}, format: sshd }
      - { name: web, file: ${accessLog}, format: nginx }
`,
  );
  let exporter = await startCli(['exporter', '--config', configFile]);
  cleanups.push(() => exporter.stop());
  const prom = await startPrometheus('prometheus', {
    exporter: `127.0.0.1:${exporterPort}`,
    notifier: new URL(notifier.url).host,
    alertmanager: am.url,
    metricsToken,
    notifierToken,
    scrapeInterval: '15s',
    evaluationInterval: '15s',
    resendDelay: '1m',
  });
  cleanups.push(() => prom.stop());

  // Web traffic all along: 2 requests a second (above HttpErrorRatioHigh's 0.2/s guard), 500s while
  // the fault lasts. Bounded by the run's own end.
  let errorsOn = false;
  let trafficOn = true;
  const traffic = (async () => {
    let i = 0;
    while (trafficOn && i < 3600) {
      const now = new Date().toUTCString().split(' ');
      const stamp = `${now[1]}/${now[2]}/${now[3]}:${now[4]} +0000`;
      for (const k of [0, 1]) {
        const code = errorsOn && k === 0 ? 500 : 200;
        appendFileSync(
          accessLog,
          `192.0.2.${10 + k} - - [${stamp}] "GET /api/items HTTP/1.1" ${code} 120 "-" "bench"\n`,
        );
      }
      i++;
      await sleep(1000);
    }
  })();

  log('warming up: waiting for the first scrapes');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const up = await prom.query('up{job="watchpost"} == 1').catch(() => []);
    if (up.length > 0) break;
    await sleep(1000);
  }
  await sleep(45_000);
  const warmPages = slack.received.length;

  const texts = () => slack.received.map((r) => ({ at: r.at, text: String(r.body.text) }));
  const firstAfter = (re, since) => texts().find((m) => m.at >= since && re.test(m.text));

  // The faults. `alert` is the alertname expected on Slack; minimum = for: + group_wait.
  const faults = [
    {
      kind: 'expected container killed (docker kill)',
      alert: 'ExpectedContainerNotRunning',
      match: `name=${PREFIX}-expected`,
      min: 60 + 10,
      inject: () => docker('kill', `${PREFIX}-expected`),
      clear: () => docker('start', `${PREFIX}-expected`),
    },
    {
      kind: 'container exits with code 3',
      alert: 'ContainerExitedWithError',
      match: `name=${PREFIX}-exit`,
      min: 60 + 30,
      inject: () =>
        docker(
          'run',
          '-d',
          '--name',
          `${PREFIX}-exit`,
          '--network',
          'none',
          'local/busybox:1',
          'sh',
          '-c',
          'exit 3',
        ),
      clear: () => docker('rm', '-f', `${PREFIX}-exit`),
    },
    {
      kind: 'restart loop (on-failure)',
      alert: 'ContainerRestartLoop',
      match: `name=${PREFIX}-loop`,
      min: 300 + 30,
      inject: () =>
        docker(
          'run',
          '-d',
          '--name',
          `${PREFIX}-loop`,
          '--network',
          'none',
          '--restart',
          'on-failure',
          'local/busybox:1',
          'sh',
          '-c',
          'sleep 2; exit 1',
        ),
      clear: () => docker('rm', '-f', `${PREFIX}-loop`),
    },
    {
      kind: 'container unhealthy',
      alert: 'ContainerUnhealthy',
      match: `name=${PREFIX}-health`,
      min: 120 + 30,
      inject: () => docker('exec', `${PREFIX}-health`, 'sh', '-c', 'echo sick > /sick'),
      clear: () => docker('exec', `${PREFIX}-health`, 'sh', '-c', ': > /sick'),
    },
    {
      kind: 'dependency down (connection refused)',
      alert: 'DependencyDown',
      match: `name=${PREFIX}-db`,
      min: 30 + 10,
      inject: () => new Promise((r) => downServer.close(() => r())),
      clear: () => listenDown(),
    },
    {
      kind: 'dependency slow (2 s answers, threshold 1 s)',
      alert: 'DependencySlow',
      match: `name=${PREFIX}-api`,
      min: 300 + 30,
      inject: () => (slowMs = 2000),
      clear: () => (slowMs = 0),
    },
    {
      kind: 'backup too old (newest 1 h old, max_age 10m)',
      alert: 'BackupTooOld',
      match: `name=${PREFIX}-pg`,
      min: 300 + 10,
      inject: () => utimesSync(backupFile, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000)),
      clear: () => utimesSync(backupFile, new Date(), new Date()),
    },
    {
      kind: 'SSH brute force (50 failures in 1 min, one address)',
      alert: 'BruteForceFromClient',
      match: 'client=203.0.113.66',
      min: 120 + 30,
      inject: () => void sshBurst(authLog),
      clear: () => undefined,
    },
    {
      kind: 'SSH brute force, source level',
      alert: 'AuthFailureSpike',
      match: 'source=ssh',
      min: 60 + 30,
      inject: () => undefined,
      clear: () => undefined,
    },
    {
      kind: 'HTTP 5xx ratio 50 %',
      alert: 'HttpErrorRatioHigh',
      match: 'source=web',
      min: 300 + 10,
      inject: () => (errorsOn = true),
      clear: () => (errorsOn = false),
    },
  ];

  log(`injecting ${faults.length} faults in parallel`);
  for (const f of faults) {
    f.injectedAt = Date.now();
    await f.inject();
  }
  const pageDeadline = Date.now() + 9 * 60_000;
  while (Date.now() < pageDeadline && faults.some((f) => !f.page)) {
    for (const f of faults) {
      if (f.page) continue;
      const m = firstAfter(new RegExp(`FIRING.*\\b${f.alert}\\b.*${f.match}`), f.injectedAt);
      if (m) {
        f.page = m.at;
        log(`${f.alert} paged after ${((m.at - f.injectedAt) / 1000).toFixed(1)} s`);
      }
    }
    await sleep(500);
  }

  // The exporter dies while the alerts fire: no RESOLVED may come, and WatchpostExporterDown pages.
  log('killing the exporter with SIGKILL');
  await exporter.stop('SIGKILL');
  const killedAt = Date.now();
  const exporterDown = {
    kind: 'exporter killed (SIGKILL)',
    alert: 'WatchpostExporterDown',
    min: 60 + 10,
    injectedAt: killedAt,
  };
  const downDeadline = Date.now() + 4 * 60_000;
  while (Date.now() < downDeadline && !exporterDown.page) {
    const m = firstAfter(/FIRING.*\bWatchpostExporterDown\b/, killedAt);
    if (m) exporterDown.page = m.at;
    await sleep(500);
  }
  await sleep(60_000);
  // A RESOLVED for an injected fault is false: every fault is still there. Others (alerts on
  // containers of the shared dockerd that went away before the kill) may be true resolutions.
  const whileDown = texts().filter(
    (m) => m.at >= killedAt && /RESOLVED/.test(m.text) && !/WatchpostExporterDown/.test(m.text),
  );
  const mine = (m) => faults.some((f) => new RegExp(`\\b${f.alert}\\b.*${f.match}`).test(m.text));
  const falseResolved = whileDown.filter(mine);
  const otherResolved = whileDown.filter((m) => !mine(m));
  log(
    `exporter down ${((Date.now() - killedAt) / 1000).toFixed(0)} s, RESOLVED meanwhile: ${falseResolved.length} for the faults, ${otherResolved.length} others`,
  );
  exporter = await startCli(['exporter', '--config', configFile]);
  const backAt = Date.now();
  while (Date.now() < backAt + 3 * 60_000 && !firstAfter(/RESOLVED.*\bWatchpostExporterDown\b/, backAt))
    await sleep(500);
  const exporterResolved = firstAfter(/RESOLVED.*\bWatchpostExporterDown\b/, backAt);
  exporterDown.clearedAt = backAt;
  exporterDown.resolved = exporterResolved?.at;

  log('clearing the faults');
  for (const f of faults) {
    f.clearedAt = Date.now();
    await f.clear();
  }
  const resolveDeadline = Date.now() + 13 * 60_000;
  while (Date.now() < resolveDeadline && faults.some((f) => f.page && !f.resolved)) {
    for (const f of faults) {
      if (!f.page || f.resolved) continue;
      const m = firstAfter(new RegExp(`RESOLVED.*\\b${f.alert}\\b.*${f.match}`), f.clearedAt);
      if (m) {
        f.resolved = m.at;
        log(`${f.alert} resolved after ${((m.at - f.clearedAt) / 1000).toFixed(1)} s`);
      }
    }
    await sleep(1000);
  }
  trafficOn = false;
  await traffic;

  const known = [...faults.map((f) => new RegExp(`\\b${f.alert}\\b.*${f.match}`)), /WatchpostExporterDown/];
  const others = texts()
    .filter((m) => /FIRING/.test(m.text) && !known.some((re) => re.test(m.text)))
    .map((m) => m.text);
  return { faults: [...faults, exporterDown], falseResolved, otherResolved, warmPages, others };
}

function sshBurst(file) {
  // 50 failed passwords from one address within about a minute, as sshd logs them.
  return (async () => {
    for (let i = 0; i < 50; i++) {
      const d = new Date();
      const stamp = d.toUTCString().split(' ');
      appendFileSync(
        file,
        `${stamp[2]} ${stamp[1]} ${stamp[4]} bench sshd[${4000 + i}]: Failed password for root from 203.0.113.66 port ${40000 + i} ssh2\n`,
      );
      await sleep(1000);
    }
  })();
}

const s = (ms) => (ms === undefined ? '—' : (ms / 1000).toFixed(0));
let result;
try {
  result = await main();
} finally {
  await cleanup();
}
const rows = result.faults.map((f) => {
  const page = f.page === undefined ? undefined : f.page - f.injectedAt;
  const over = page === undefined ? undefined : page - f.min * 1000;
  return `| ${f.kind} | ${f.alert} | ${s(page)} | ${f.min} | ${s(over)} | ${s(f.resolved === undefined ? undefined : f.resolved - f.clearedAt)} |`;
});
const section = `## Alerts: fault to page — \`bench/alerts.mjs\`

\`npm run bench:alerts\` on ${new Date().toISOString().slice(0, 10)}: the exporter (own process), Prometheus 2.42 with the shipped
prometheus.yml and rules (15 s scrape and evaluation), Alertmanager 0.25 with the shipped alertmanager.yml, the notifier,
a Slack-like receiver; faults injected in parallel. Times in seconds; "minimum" is for: + the route's group_wait;
"overhead" is page − minimum (collection interval, scrape, evaluation, delivery); "to resolved" is from clearing the
fault to the RESOLVED message (includes keep_firing_for: 5m and the route's group_interval).

| Fault | Alert | Fault → page | Minimum | Overhead | Cleared → resolved |
| ----- | ----- | -----------: | ------: | -------: | -----------------: |
${rows.join('\n')}

- RESOLVED messages for the injected faults while the exporter was down (all still there): **${result.falseResolved.length}**${result.falseResolved.length ? ` (${result.falseResolved.map((m) => m.text).join('; ')})` : ''}. Other RESOLVED meanwhile (alerts whose problem had gone before the kill and whose keep_firing_for ended before WatchpostExporterDown fired): ${result.otherResolved.length ? result.otherResolved.map((m) => `\`${m.text}\``).join(', ') : 'none'}.
- Pages during the 45 s warm-up: ${result.warmPages}. Other pages during the run (not from an injected fault; the collector sees every container of the shared dockerd): ${
  result.others.length
    ? [...new Set(result.others)]
        .slice(0, 10)
        .map((t) => `\`${t}\``)
        .join(', ')
    : 'none'
}.
- The dependency-slow, backup, 5xx and restart-loop faults have a for: of 5m, so they cannot page within 300 s of the fault plus collection; the others are within the targets when the overhead column is under 30.
- Not injected here: disk 88 %/97 % (needs a filesystem of its own), stream stops, mosaic process dies, stream server down (nginx-rtmp and FFmpeg), Alertmanager stopped (the notifier's heartbeat timeout is 5m); the 10-minute healthy soak is not run.
`;
writeSection(
  join(import.meta.dirname, 'RESULTS.md'),
  '## Alerts: fault to page — `bench/alerts.mjs`',
  section,
);
process.stdout.write(section);
// The notifier's and the servers' timers are closed; anything left is not worth waiting for.
process.exit(0);
