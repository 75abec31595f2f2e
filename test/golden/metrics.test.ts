import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../config/load.js';
import { startExporter, type ExporterHandle } from '../../exporter/run.js';
import { silentLogger } from '../../internal/log.js';
import { eventually, promtoolCheckMetrics, requireBinary } from '../../internal/testing/helpers.js';

/**
 * The exporter's whole /metrics output against fixed sources, compared line for line with a
 * checked-in golden file, as node_exporter's end-to-end test does: a procfs fixture (stat,
 * meminfo, loadavg, uptime, mountinfo), a root folder with a recordings directory, an
 * nginx-rtmp stat page captured from the real module, a fixed log file and a fixed backups
 * folder. It goes through startExporter and HTTP, so it guards every collector and the runner
 * whatever their internals. What cannot be fixed is normalised by name (normalise below):
 * filesystem sizes (statfs of this machine), durations and timestamps of runs, the boot time
 * (now minus the fixture's uptime), the process and Node.js metrics, the Node.js version, and
 * the kernel and machine of watchpost_host_os_info (its distribution is rootfs/etc/os-release).
 * A recorded Docker state is served by a fake Docker API (fakeDocker).
 *
 * When it fails because the output changed on purpose, regenerate the file and review its diff:
 *   npm run gen:golden-metrics
 */
const HERE = import.meta.dirname;
const GOLDEN = join(HERE, 'metrics.golden.prom');
const UPDATE = process.env.WATCHPOST_UPDATE_GOLDEN === '1';
/** A fixed point in time for the backup's mtime (2026-11-29T03:00:00Z). */
const BACKUP_MTIME = 1_795_921_200;

/** Families whose values depend on the machine or the clock: their values become <v>. */
const VOLATILE_VALUES = [
  /^watchpost_filesystem_(size|avail|free|files|files_free|used)_bytes$/,
  /^watchpost_filesystem_(used_ratio|files_used_ratio)$/,
  /^watchpost_filesystem_files(_free)?$/,
  /_duration_seconds(_sum|_count|_bucket)?$/,
  /^watchpost_(collector_last_success|host_boot)_timestamp_seconds$/,
  /^watchpost_stream_server_uptime_seconds$/,
];
/** Families left out entirely: prom-client's process and Node.js metrics. */
const EXCLUDED = [/^process_/, /^nodejs_/];

/**
 * The exposition with what varies from run to run replaced, so that the rest compares exactly.
 * Families are sorted by name and samples within a family by text: collectors finish their
 * first runs in any order, and the order of the output is not part of its meaning.
 */
export function normalise(text: string): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const name = line.startsWith('#') ? line.split(' ')[2]! : /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    if (EXCLUDED.some((r) => r.test(name))) continue;
    // Histogram and summary samples belong to their family's block.
    const family = line.startsWith('#') ? name : name.replace(/_(bucket|sum|count)$/, '');
    const key = families.has(family) ? family : families.has(name) ? name : family;
    const block = families.get(key) ?? { meta: [], samples: [] };
    families.set(key, block);
    if (line.startsWith('#')) {
      block.meta.push(line);
      continue;
    }
    // The backup check's timestamp is the fixture's mtime: fixed, so kept.
    const volatile = VOLATILE_VALUES.some((r) => r.test(name)) && !name.startsWith('watchpost_backup_');
    let l = volatile ? line.replace(/ \S+$/, ' <v>') : line;
    l = l.replace(/nodejs="v[^"]*"/, 'nodejs="<version>"');
    // uname of this machine; the distribution comes from rootfs/etc/os-release.
    if (name === 'watchpost_host_os_info')
      l = l.replace(/kernel="[^"]*",arch="[^"]*"/, 'kernel="<v>",arch="<v>"');
    block.samples.push(l);
  }
  return (
    [...families.keys()]
      .sort()
      .map((k) => {
        const b = families.get(k)!;
        return [...b.meta, ...b.samples.sort()].join('\n');
      })
      .join('\n') + '\n'
  );
}

/**
 * A Docker Engine API on a unix socket that answers with responses recorded from a real
 * dockerd (20.10, API 1.41: test/golden/docker/): a running healthy container and one that
 * exited with 3, both of compose project "shop". The event stream stays open and silent, as
 * dockerd's does while nothing happens.
 */
function fakeDocker(socket: string): Server {
  const dir = join(HERE, 'docker');
  const json = (name: string) => readFileSync(join(dir, name), 'utf8');
  const list = JSON.parse(json('list.json')) as { Id: string; Names: string[] }[];
  const byRef = new Map<string, string>();
  for (const c of list) {
    const name = c.Names[0]!.slice(1);
    for (const ref of [c.Id, name]) byRef.set(ref, name);
  }
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://docker').pathname.replace(/^\/v[0-9.]+/, '');
    const send = (body: string) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
    if (path === '/_ping') return res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
    if (path === '/version') return send(json('version.json'));
    if (path === '/containers/json') return send(json('list.json'));
    if (path === '/events') return res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
    const m = /^\/containers\/([^/]+)\/(json|stats)$/.exec(path);
    const name = m && byRef.get(decodeURIComponent(m[1]!));
    if (m && name) {
      const file = `${m[2] === 'json' ? 'inspect' : 'stats'}-${name}.json`;
      try {
        return send(json(file));
      } catch {
        // No recorded stats for a stopped container: dockerd answers zeros; so does this.
      }
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"not recorded"}');
  }).listen(socket);
}

function config(rtmpUrl: string, logFile: string, dockerSocket: string): string {
  return `
exporter:
  listen: 127.0.0.1:0
paths:
  procfs: ${join(HERE, 'procfs')}
  rootfs: ${join(HERE, 'rootfs')}
collectors:
  host: { interval: 1h }
  disk:
    interval: 1h
    directories:
      - { path: /srv/recordings, interval: 1h }
  # Not yet on fixed sources: they read this machine's interfaces and sensors.
  network: { enabled: false }
  sensors: { enabled: false }
  containers: { enabled: true, endpoint: "unix://${dockerSocket}", stats: api, interval: 1h }
  streams:
    interval: 1h
    servers:
      - { name: rtmp, kind: nginx-rtmp, url: "${rtmpUrl}", max_streams: 4 }
    expected:
      - { server: rtmp, app: live, stream: cam1 }
      - { server: rtmp, app: live, stream: cam3 }
  backups:
    interval: 1h
    checks:
      - { name: shop-db, path: "${join(HERE, 'backups')}/*.sql.gz", max_age: 1d, marker_time: mtime }
  logs:
    interval: 1s
    timeout: 1s
    sources:
      - { name: ssh, file: ${logFile}, format: sshd }
`;
}

describe('golden /metrics', () => {
  let stat: Server;
  let docker: Server;
  let exporter: ExporterHandle;
  let text = '';
  // The log is followed like tail -F, from its end: the fixture's lines are appended once the
  // source is up, to a copy in a folder of the test's own.
  const logDir = mkdtempSync(join(tmpdir(), 'watchpost-golden-'));
  const logFile = join(logDir, 'auth.log');
  const logLines = readFileSync(join(HERE, 'logs', 'auth.txt'), 'utf8');

  before(async () => {
    const page = readFileSync(join(HERE, 'rtmp-stat.xml'));
    stat = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/xml' }).end(page));
    await new Promise<void>((resolve) => stat.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(stat.address() as AddressInfo).port}/stat`;
    writeFileSync(logFile, '');
    const dockerSocket = join(logDir, 'docker.sock');
    docker = fakeDocker(dockerSocket);
    await new Promise((resolve) => docker.once('listening', resolve));
    const file = join(HERE, 'backups', 'shop-2026-11-29.sql.gz');
    utimesSync(file, BACKUP_MTIME, BACKUP_MTIME);
    exporter = await startExporter({
      config: parseConfigText(config(url, logFile, dockerSocket), join(HERE, 'watchpost.yml'), {}, HERE),
      log: silentLogger,
      version: 'golden',
    });
    const base = `http://127.0.0.1:${exporter.address.port}`;
    await eventually(async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 60_000, 'ready');
    const metrics = async () => (await fetch(`${base}/metrics`)).text();
    // The log file is opened in the background; its source is up from the run after that.
    await eventually(
      async () => (/^watchpost_log_source_up\{source="ssh"\} 1$/m.test(await metrics()) ? true : undefined),
      60_000,
      'the log source up',
    );
    appendFileSync(logFile, logLines);
    const count = logLines.split('\n').filter((l) => l !== '').length;
    text = await eventually(
      async () => {
        const t = await metrics();
        return t.includes(`watchpost_log_lines_total{source="ssh"} ${count}\n`) ? t : undefined;
      },
      60_000,
      `${count} log lines counted`,
    );
  });

  after(async () => {
    await exporter?.close();
    await new Promise((resolve) => stat?.close(resolve));
    docker?.closeAllConnections();
    await new Promise((resolve) => docker?.close(resolve));
    rmSync(logDir, { recursive: true, force: true });
  });

  it('equals test/golden/metrics.golden.prom once normalised', () => {
    const got = normalise(text);
    if (UPDATE) writeFileSync(GOLDEN, got);
    const want = readFileSync(GOLDEN, 'utf8');
    assert.equal(
      got,
      want,
      'the exporter output changed: if that is intended, run "npm run gen:golden-metrics" and review the diff of test/golden/metrics.golden.prom',
    );
  });

  it('passes promtool check metrics', (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const r = promtoolCheckMetrics(promtool, text);
    assert.equal(r.output, '');
    assert.equal(r.status, 0);
  });
});
