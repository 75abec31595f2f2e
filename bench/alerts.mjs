// Fault to page, measured through the whole pipeline with the shipped files: the exporter (its own
// process), Prometheus with provisioning/prometheus/prometheus.yml and alerts/*.rules.yml at their
// shipped 15 s intervals, Alertmanager with alerts/alertmanager.yml and its shipped waits, the
// notifier, and a Slack-like receiver. Faults are injected in parallel, then the exporter is killed
// with SIGKILL while their alerts fire, then the faults are cleared. For each fault: the time from
// the fault to the page on Slack against the theoretical minimum (for: + group_wait), and the time
// from clearing it to the RESOLVED message. Bounded: every wait has a deadline; the whole run takes
// about 25 minutes.
//
// What the faults act on is the bench's own: containers carrying its label (the containers collector
// sees only those, through label_filter), two tmpfs filesystems it mounts (the disk collector sees
// only those), two nginx-rtmp servers with FFmpeg publishers and a "mosaic" FFmpeg process, and a
// second Alertmanager + notifier + Slack-like receiver that only the Alertmanager-stopped fault uses
// (Prometheus sends every alert to both Alertmanagers), so stopping it does not hold up the others.
//
// Run: npm run bench:alerts (needs root for the tmpfs mounts, prometheus, prometheus-alertmanager,
// nginx-light with libnginx-mod-rtmp, ffmpeg, dockerd and local/busybox:1; see
// scripts/install-system-deps.sh). Containers it creates are named arbench-*, and removed.
// npm run bench:alerts -- --soak: the same pipeline, healthy, for 10 minutes; every page is false.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../internal/log.ts';
import { notifierSchema } from '../config/notifier-schema.ts';
import { startFakeSlack } from '../notifier/fixtures/fakes.ts';
import { startNotifier } from '../notifier/run.ts';
import { startAlertmanager } from '../internal/testing/alertmanager.ts';
import { eventually, freePort, startCli } from '../internal/testing/helpers.ts';
import { startPrometheus } from '../internal/testing/prometheus.ts';
import { RtmpLab } from '../internal/testing/rtmp.ts';
import { writeSection } from './common.mjs';

const SOAK = process.argv.includes('--soak');
const SOAK_MS = Number(process.env.BENCH_SOAK_MS ?? 10 * 60_000);
// The soak and the fault run can run side by side: each has its own names.
const PREFIX = SOAK ? 'arsoak' : 'arbench';
const BENCH_LABEL = `watchpost.bench=${PREFIX}`;
// The notifier's heartbeat timeout here (5m shipped): Alertmanager's Watchdog heartbeats come every 60 s.
const HEARTBEAT_TIMEOUT_S = 120;
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

const reEscape = (text) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
/** A regular expression (RE2: no lookahead) matching every path that does not start with `prefix`. */
function notUnder(prefix) {
  const alts = [];
  for (let i = 0; i < prefix.length; i++)
    alts.push(`^${reEscape(prefix.slice(0, i))}(?:[^${reEscape(prefix[i])}]|$)`);
  return alts.join('|');
}
const mount = (...args) => {
  const r = spawnSync('mount', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr} (the bench must run as root)`);
};

const cleanups = [];
async function cleanup() {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

/**
 * A Slack-like receiver and a notifier in front of it (files `<name>-url`, `<name>-state` in
 * dir), and how to start an Alertmanager with the shipped timings posting to that notifier
 * (again after a stop: on the same port when one is given).
 */
async function startDeliveryPath(dir, name, notifierToken, amPort) {
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  writeFileSync(join(dir, `${name}-url`), slack.url, { mode: 0o600 });
  const notifier = await startNotifier({
    config: notifierSchema({ baseDir: dir }).parse({
      listen: '127.0.0.1:0',
      bearer_token_file: 'notifier-token',
      state_dir: `${name}-state`,
      heartbeat: { timeout: `${HEARTBEAT_TIMEOUT_S}s` },
      channels: [{ name: 'slack', type: 'slack', slack: { webhook_url_file: `${name}-url` } }],
    }),
    log: silentLogger,
  });
  cleanups.push(() => notifier.close());
  const startAm = () =>
    startAlertmanager('prometheus-alertmanager', notifier.url, notifierToken, {
      shippedTimings: true,
      ...(amPort === undefined ? {} : { port: amPort }),
    });
  return { slack, notifier, startAm };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-bench-alerts-'));
  const metricsToken = 'bench-metrics-token-6f02d9e1';
  const notifierToken = 'bench-notifier-token-c85a7b34';
  writeFileSync(join(dir, 'metrics-token'), `${metricsToken}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'notifier-token'), `${notifierToken}\n`, { mode: 0o600 });

  // The Slack-like receiver, the notifier in front of it, and the Alertmanager posting to it.
  const { slack, notifier, startAm } = await startDeliveryPath(dir, 'slack', notifierToken);
  const am = await startAm();
  cleanups.push(() => am.stop());
  // The second path, for the Alertmanager-stopped fault: its own Alertmanager, notifier and receiver.
  const path2 = await startDeliveryPath(dir, 'slack2', notifierToken, await freePort());
  const slack2 = path2.slack;
  let am2 = await path2.startAm();
  cleanups.push(() => am2.stop());

  // Two filesystems of the bench's own (tmpfs), the only ones the disk collector watches.
  const disks = join(dir, 'disks');
  const diskSize = 16 * 1024 * 1024;
  for (const d of ['d88', 'd97']) {
    mkdirSync(join(disks, d), { recursive: true });
    mount('-t', 'tmpfs', '-o', `size=${diskSize},mode=0700`, `${PREFIX}-${d}`, join(disks, d));
    cleanups.push(() => spawnSync('umount', ['-l', join(disks, d)]));
  }
  const fill = (d, ratio) =>
    writeFileSync(join(disks, d, 'fill'), Buffer.alloc(Math.floor(diskSize * ratio)));
  const unfill = (d) => unlinkSync(join(disks, d, 'fill'));

  // Two nginx-rtmp servers: rtmp1 with camera cam1 and the mosaic FFmpeg process, rtmp2 with cam2.
  const lab1 = new RtmpLab('nginx', 'ffmpeg');
  const lab2 = new RtmpLab('nginx', 'ffmpeg');
  await lab1.startNginx();
  await lab2.startNginx();
  let nginx2 = lab2.nginx;
  cleanups.push(() => lab1.stop());
  cleanups.push(() => lab2.stop());
  cleanups.push(() => nginx2.stop());
  const startNginx2 = async () => {
    // The same config and ports as before it was stopped.
    const proc = spawn('nginx', ['-c', join(lab2.dir, 'nginx.conf'), '-p', lab2.dir], { stdio: 'ignore' });
    const exited = new Promise((r) => proc.once('exit', () => r()));
    nginx2 = {
      stop: async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
        await exited;
      },
    };
    await eventually(
      async () => ((await globalThis.fetch(lab2.statUrl).catch(() => undefined))?.ok ? true : undefined),
      15_000,
      'nginx restarted',
    );
  };
  const mosaicStream = `${PREFIX}-mosaic`;
  let cam1 = lab1.publishLight('cam1');
  let mosaic = lab1.publishLight(mosaicStream);
  let cam2 = lab2.publishLight('cam2');

  // What the faults act on.
  removeContainers();
  cleanups.push(removeContainers);
  docker(
    'run',
    '-d',
    '--name',
    `${PREFIX}-expected`,
    '--label',
    BENCH_LABEL,
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
    '--label',
    BENCH_LABEL,
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
    label_filter: ["${BENCH_LABEL}"]
    expected:
      - { name: ${PREFIX}-expected }
  disk:
    exclude_fstypes: [proc, sysfs, overlay, squashfs, devtmpfs, cgroup, cgroup2]
    exclude_mountpoints: '${notUnder(`${disks}/`)}'
  streams:
    servers:
      - { name: rtmp1, kind: nginx-rtmp, url: "${lab1.statUrl}" }
      - { name: rtmp2, kind: nginx-rtmp, url: "${lab2.statUrl}" }
    expected:
      - { server: rtmp1, app: live, stream: cam1 }
      - { server: rtmp2, app: live, stream: cam2 }
  ffmpeg:
    groups:
      - { name: mosaic, match: "${mosaicStream}", expected: 1 }
  dependencies:
    targets:
      - { name: ${PREFIX}-db, kind: tcp, address: "127.0.0.1:${downPort}", probe_timeout: 2s }
      - { name: ${PREFIX}-api, kind: http, url: "http://127.0.0.1:${slowServer.address().port}/", probe_timeout: 5s, slow_threshold: 1s }
  backups:
    checks:
      - { name: ${PREFIX}-pg, path: ${join(dir, 'backups')}/*.sql, max_age: ${SOAK ? '1h' : '10m'} }
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
    // Both Alertmanagers, as a list in the shipped targets: [...].
    alertmanager: `${am.url}, ${am2.url.replace('http://', '')}`,
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
  // What the exporter sees: only the bench's own filesystems and containers, its streams and mosaic.
  const count = async (q) => (await prom.query(q).catch(() => [])).length;
  const seen = {
    filesystems: await count('watchpost_filesystem_used_ratio'),
    containers: await count('watchpost_container_running'),
    publishing: await count('watchpost_stream_publishing == 1'),
    mosaic: await count('watchpost_ffmpeg_processes{group="mosaic"} == 1'),
  };
  log(`the exporter sees ${JSON.stringify(seen)}`);
  if (seen.filesystems !== 2 || seen.containers !== 2 || seen.publishing < 2 || seen.mosaic !== 1)
    throw new Error(`unexpected view of the bench's targets: ${JSON.stringify(seen)}`);

  const textsOf = (receiver) => receiver.received.map((r) => ({ at: r.at, text: String(r.body.text) }));
  const texts = () => textsOf(slack);
  const firstAfter = (re, since, receiver = slack) =>
    textsOf(receiver).find((m) => m.at >= since && re.test(m.text));

  if (SOAK) {
    // Healthy: nothing is injected, every page is false (the backup's max_age is 1h here, so that
    // the backup made at the start stays fresh through the soak). The second receiver counts too: a
    // "pipeline silent" alarm there would be a false one.
    const from = Date.now();
    log(`soak: ${SOAK_MS / 60_000} minutes healthy`);
    await sleep(SOAK_MS);
    trafficOn = false;
    await traffic;
    const pages = [
      ...texts().filter((m) => m.at >= from),
      ...textsOf(slack2).filter((m) => m.at >= from && /MonitoringPipelineSilent/.test(m.text)),
    ].map((m) => m.text);
    const up = await prom.query('up == 1').catch(() => []);
    const firing = await prom.query('ALERTS{alertstate="firing",alertname!="Watchdog"}').catch(() => []);
    return { soak: true, warmPages, pages, minutes: (Date.now() - from) / 60_000, up: up.length, firing };
  }

  // The faults. `alert` is the alertname expected on Slack; minimum = for: + group_wait.
  const faults = [
    {
      kind: 'expected container killed (docker kill)',
      alert: 'ExpectedContainerNotRunning',
      critical: true,
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
          '--label',
          BENCH_LABEL,
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
      min: 60 + 30,
      inject: () =>
        docker(
          'run',
          '-d',
          '--name',
          `${PREFIX}-loop`,
          '--label',
          BENCH_LABEL,
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
      critical: true,
      match: `name=${PREFIX}-db`,
      min: 30 + 10,
      inject: () => new Promise((r) => downServer.close(() => r())),
      clear: () => listenDown(),
    },
    {
      kind: 'dependency slow (2 s answers, threshold 1 s)',
      alert: 'DependencySlow',
      match: `name=${PREFIX}-api`,
      min: 180 + 30,
      inject: () => (slowMs = 2000),
      clear: () => (slowMs = 0),
    },
    {
      kind: 'backup too old (newest 1 h old, max_age 10m)',
      alert: 'BackupTooOld',
      match: `name=${PREFIX}-pg`,
      critical: true,
      min: 30 + 10,
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
      critical: true,
      match: 'source=web',
      min: 60 + 10,
      inject: () => (errorsOn = true),
      clear: () => (errorsOn = false),
    },
    {
      kind: 'disk 89 % full (threshold 85 %)',
      alert: 'DiskSpaceLow',
      severity: 'warning',
      match: 'mountpoint=[^,)]*/d88',
      min: 180 + 30,
      inject: () => fill('d88', 0.89),
      clear: () => unfill('d88'),
    },
    {
      kind: 'disk 98.5 % full (critical above 97 %)',
      alert: 'DiskSpaceLow',
      severity: 'critical',
      critical: true,
      match: 'mountpoint=[^,)]*/d97',
      min: 60 + 10,
      inject: () => fill('d97', 0.985),
      clear: () => unfill('d97'),
    },
    {
      kind: 'stream stops (publisher killed)',
      alert: 'ExpectedStreamNotPublishing',
      critical: true,
      match: 'stream=cam1',
      min: 60 + 10,
      inject: () => cam1.stop('SIGKILL'),
      clear: () => void (cam1 = lab1.publishLight('cam1')),
    },
    {
      kind: 'mosaic FFmpeg process dies (SIGKILL)',
      alert: 'FfmpegProcessesMissing',
      critical: true,
      match: 'group=mosaic',
      min: 60 + 10,
      inject: () => mosaic.stop('SIGKILL'),
      clear: () => void (mosaic = lab1.publishLight(mosaicStream)),
    },
    {
      kind: 'stream server down (nginx stopped)',
      alert: 'StreamServerUnreachable',
      critical: true,
      match: 'server=rtmp2',
      min: 60 + 10,
      inject: async () => {
        await nginx2.stop();
        await cam2.stop();
      },
      clear: async () => {
        await startNginx2();
        cam2 = lab2.publishLight('cam2');
      },
    },
    {
      // The notifier raises it when no heartbeat came for its timeout; the last one came up to 60 s
      // before the stop, so the minimum is the timeout less one heartbeat period.
      kind: `Alertmanager stopped (heartbeat timeout ${HEARTBEAT_TIMEOUT_S} s)`,
      alert: 'MonitoringPipelineSilent',
      critical: true,
      match: '',
      receiver: slack2,
      min: HEARTBEAT_TIMEOUT_S - 60,
      inject: () => am2.stop(),
      clear: async () => {
        am2 = await path2.startAm();
      },
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
      const m = firstAfter(
        new RegExp(`FIRING.*${f.severity ? `${f.severity} ` : '\\b'}${f.alert}\\b.*${f.match}`),
        f.injectedAt,
        f.receiver,
      );
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
    critical: true,
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
      const m = firstAfter(
        new RegExp(`RESOLVED.*${f.severity ? `${f.severity} ` : '\\b'}${f.alert}\\b.*${f.match}`),
        f.clearedAt,
        f.receiver,
      );
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
const RESULTS = join(import.meta.dirname, 'RESULTS.md');
const day = new Date().toISOString().slice(0, 10);
if (result.soak) {
  const section = `## Alerts: healthy soak — \`bench/alerts.mjs --soak\`

\`npm run bench:alerts -- --soak\` on ${day}: the same pipeline and the same healthy targets as the fault run (the
bench's containers, two tmpfs filesystems at 0 %, two nginx-rtmp servers with their FFmpeg publishers and the mosaic
process, a TCP and an HTTP dependency, a fresh backup, sshd and nginx logs with 2 requests a second), nothing injected,
for ${result.minutes.toFixed(1)} minutes after a 45 s warm-up, with the shorter for: durations of this version.

- Pages during the soak (every one is false): **${result.pages.length}**${result.pages.length ? ` (${[...new Set(result.pages)].map((t) => `\`${t}\``).join(', ')})` : ''}; pages during the warm-up: ${result.warmPages}.
- Targets up at the end: ${result.up}; alerts firing in Prometheus at the end (Watchdog aside): ${result.firing.length ? result.firing.map((a) => a.metric.alertname).join(', ') : 'none'}.
`;
  writeSection(RESULTS, '## Alerts: healthy soak — `bench/alerts.mjs --soak`', section);
  process.stdout.write(section);
  process.exit(0);
}
const met = (ok) => (ok ? 'yes' : '**no**');
const rows = result.faults.map((f) => {
  const page = f.page === undefined ? undefined : f.page - f.injectedAt;
  const over = page === undefined ? undefined : page - f.min * 1000;
  const target = f.critical ? 120 : 300;
  const inTime = page !== undefined && page <= target * 1000;
  return `| ${f.kind} | ${f.alert}${f.severity ? ` (${f.severity})` : ''} | ${s(page)} | ${f.min} | ${s(over)} | ${target}: ${met(inTime)} | ${met(over !== undefined && over <= 30_000)} | ${s(f.resolved === undefined ? undefined : f.resolved - f.clearedAt)} |`;
});
const section = `## Alerts: fault to page — \`bench/alerts.mjs\`

\`npm run bench:alerts\` on ${day}: the exporter (own process), Prometheus 2.42 with the shipped
prometheus.yml and rules (15 s scrape and evaluation), Alertmanager 0.25 with the shipped alertmanager.yml, the notifier,
a Slack-like receiver; faults injected in parallel. Times in seconds; "minimum" is for: + the route's group_wait;
"overhead" is page − minimum (collection interval, scrape, evaluation, delivery); "target" is 120 s for a critical
page and 300 s for any other; "to resolved" is from clearing the fault to the RESOLVED message (includes
keep_firing_for: 5m and the route's group_interval: 1m critical, 5m warning).

| Fault | Alert | Fault → page | Minimum | Overhead | Target | Overhead ≤ 30 | Cleared → resolved |
| ----- | ----- | -----------: | ------: | -------: | ------ | ------------- | -----------------: |
${rows.join('\n')}

- RESOLVED messages for the injected faults while the exporter was down (all still there): **${result.falseResolved.length}**${result.falseResolved.length ? ` (${result.falseResolved.map((m) => m.text).join('; ')})` : ''}. Other RESOLVED meanwhile: ${result.otherResolved.length ? result.otherResolved.map((m) => `\`${m.text}\``).join(', ') : 'none'}.
- Pages during the 45 s warm-up: ${result.warmPages}. Other pages during the run (not from an injected fault): ${
  result.others.length
    ? [...new Set(result.others)]
        .slice(0, 10)
        .map((t) => `\`${t}\``)
        .join(', ')
    : 'none'
}.
- The Alertmanager-stopped fault runs on a second Alertmanager, notifier and receiver that Prometheus also sends to, so
  the other faults keep their delivery path; its page is the notifier's MonitoringPipelineSilent, raised when no
  Watchdog heartbeat came for \`notifier.heartbeat.timeout\` (${HEARTBEAT_TIMEOUT_S} s here, 5m by default).
`;
writeSection(RESULTS, '## Alerts: fault to page — `bench/alerts.mjs`', section);
process.stdout.write(section);
// The notifier's and the servers' timers are closed; anything left is not worth waiting for.
process.exit(0);
