// Cost of one containers-collector cycle against a real dockerd, next to one full
// node_exporter scrape measured in the same run (the reference).
//
//   npm run bench:containers        (= npm run build && node bench/containers.mjs)
//
// Needs dockerd and the local/busybox:1 image (scripts/start-dockerd.sh) and
// prometheus-node-exporter. Env: BENCH_COUNTS (default "50,200"), BENCH_CYCLES (20),
// NODE_EXPORTER (binary), BENCH_RESULTS (file to write the section into).
// Every container it creates is labelled watchpost.bench=1 and removed at the end, also
// on error or Ctrl-C; node_exporter is stopped by its PID.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeSection as writeResultsSection } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const SECTION = '## Containers: collection cycle';
const COUNTS = (process.env.BENCH_COUNTS || '50,200').split(',').map(Number);
const CYCLES = Number(process.env.BENCH_CYCLES || 20);
const RESULTS = process.env.BENCH_RESULTS || join(HERE, 'RESULTS.md');
const NODE_EXPORTER = process.env.NODE_EXPORTER || 'prometheus-node-exporter';
const IMAGE = 'local/busybox:1';
const PREFIX = `wp-bench-${randomBytes(3).toString('hex')}-`;
const run = promisify(execFile);

const { ContainersCollector } = await import(join(ROOT, 'dist/exporter/collectors/containers/containers.js'));
const { defaultConfig } = await import(join(ROOT, 'dist/config/load.js'));
const { silentLogger } = await import(join(ROOT, 'dist/internal/log.js'));

// ------------------------------------------------------------------ cleanup
const created = [];
let nodeExporter;
function cleanupSync() {
  if (nodeExporter && nodeExporter.exitCode === null) {
    try {
      process.kill(nodeExporter.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < created.length; i += 100) {
    try {
      execFileSync('docker', ['rm', '-f', ...created.slice(i, i + 100)], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
  }
  created.length = 0;
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, removing containers\n`);
    cleanupSync();
    process.exit(130);
  });
}

// ------------------------------------------------------------------ helpers
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, d = 2) => x.toFixed(d);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wall ms and CPU ms (user + system of this process) of fn. */
async function measure(fn) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000, value };
}

/** One cycle as the scheduler runs it: collect, apply, render the collector's registry. */
async function cycle(c) {
  const apply = await c.collect(AbortSignal.timeout(60_000));
  apply();
  await c.registry.metrics();
}

function collector(stats) {
  const config = defaultConfig();
  return new ContainersCollector({
    config: {
      ...config,
      collectors: {
        ...config.collectors,
        containers: {
          ...config.collectors.containers,
          endpoint: 'unix:///var/run/docker.sock',
          stats,
          resync_interval: 3_600_000,
        },
      },
    },
    log: silentLogger,
  });
}

async function addContainers(total) {
  const names = [];
  for (let i = created.length; i < total; i++) names.push(`${PREFIX}${i}`);
  for (let i = 0; i < names.length; i += 10) {
    await Promise.all(
      names.slice(i, i + 10).map(async (name) => {
        created.push(name);
        await run('docker', [
          'run',
          '-d',
          '--name',
          name,
          '--network',
          'none',
          '--label',
          'watchpost.bench=1',
          IMAGE,
          'sleep',
          '3600',
        ]);
      }),
    );
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function scrape(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject);
  });
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
}

/** CPU ms per node_exporter full scrape: median over 3 rounds of 20 scrapes. */
async function nodeExporterScrape() {
  const port = await freePort();
  nodeExporter = spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      if ((await scrape(port)) === 200) break;
    } catch {
      if (i > 100) throw new Error(`${NODE_EXPORTER} did not answer on 127.0.0.1:${port}`);
      await sleep(100);
    }
  }
  for (let i = 0; i < 5; i++) await scrape(port);
  const rounds = [];
  for (let r = 0; r < 3; r++) {
    const c0 = cpuMs(nodeExporter.pid);
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) await scrape(port);
    rounds.push({ cpu: (cpuMs(nodeExporter.pid) - c0) / 20, wall: (Date.now() - t0) / 20 });
  }
  process.kill(nodeExporter.pid, 'SIGTERM');
  return { cpu: median(rounds.map((r) => r.cpu)), wall: median(rounds.map((r) => r.wall)) };
}

// ------------------------------------------------------------------ run
try {
  execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
} catch {
  console.error(
    `bench: docker or ${IMAGE} missing: run scripts/install-system-deps.sh and scripts/start-dockerd.sh`,
  );
  process.exit(2);
}

const rows = [];
let reference;
try {
  reference = await nodeExporterScrape();
  console.log(`node_exporter full scrape: ${fmt(reference.cpu)} ms CPU, ${fmt(reference.wall)} ms wall`);
  for (const n of COUNTS) {
    await addContainers(n);
    const all = execFileSync('docker', ['ps', '-q'], { encoding: 'utf8' }).trim().split('\n').length;
    const c = collector('cgroup');
    const none = collector('none');
    try {
      const startup = await measure(() => cycle(c));
      await cycle(none);
      await sleep(500);
      await cycle(c);
      await cycle(none);
      const steady = [];
      const steadyNone = [];
      const inspect0 = c.source.calls.inspect;
      for (let i = 0; i < CYCLES; i++) {
        steady.push(await measure(() => cycle(c)));
        steadyNone.push(await measure(() => cycle(none)));
      }
      const steadyInspects = c.source.calls.inspect - inspect0;
      // A burst: pause + unpause 25 containers = 50 events.
      const burstNames = created.slice(0, 25);
      await run('docker', ['pause', ...burstNames]);
      await run('docker', ['unpause', ...burstNames]);
      await sleep(1000);
      const i0 = c.source.calls.inspect;
      const burst = await measure(() => cycle(c));
      const burstInspects = c.source.calls.inspect - i0;
      // Stats API: one background poll of every running container.
      const api = await measure(() => c.pollApiStats());
      const list = [];
      for (let i = 0; i < 5; i++) list.push(await measure(() => c.source.listIds()));
      const row = {
        n,
        all,
        startup,
        steadyCpu: median(steady.map((m) => m.cpu)),
        steadyWall: median(steady.map((m) => m.wall)),
        noneCpu: median(steadyNone.map((m) => m.cpu)),
        noneWall: median(steadyNone.map((m) => m.wall)),
        steadyInspects,
        burst,
        burstInspects,
        api,
        listCpu: median(list.map((m) => m.cpu)),
        listWall: median(list.map((m) => m.wall)),
      };
      rows.push(row);
      console.log(
        `${n} containers: steady ${fmt(row.steadyCpu)} ms CPU / ${fmt(row.steadyWall)} ms wall ` +
          `(stats none: ${fmt(row.noneCpu)} / ${fmt(row.noneWall)}), ${steadyInspects} inspects in ${CYCLES} cycles; ` +
          `burst ${fmt(burst.cpu)} / ${fmt(burst.wall)} ms, ${burstInspects} inspects; ` +
          `stats API poll ${fmt(api.cpu)} / ${fmt(api.wall)} ms; list ${fmt(row.listCpu)} / ${fmt(row.listWall)} ms; ` +
          `startup ${fmt(startup.cpu)} / ${fmt(startup.wall)} ms`,
      );
    } finally {
      c.close();
      none.close();
    }
  }
} finally {
  cleanupSync();
}

// ------------------------------------------------------------------ report
const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
const dockerVersion = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
  encoding: 'utf8',
}).trim();
const at50 = rows.find((r) => r.n === 50) ?? rows[0];
const verdict =
  at50 && at50.steadyCpu <= reference.cpu
    ? `**met**: ${fmt(at50.steadyCpu)} ms ≤ ${fmt(reference.cpu)} ms`
    : `**not met**: ${fmt(at50?.steadyCpu ?? NaN)} ms > ${fmt(reference.cpu)} ms`;
const lines = [
  SECTION,
  '',
  `Run: \`npm run bench:containers\` (= \`npm run build && node bench/containers.mjs\`), ${new Date().toISOString()},`,
  `${os.cpus().length} × ${cpuModel}, Node ${process.version}, Docker Engine ${dockerVersion}, cgroup v${existsSync('/sys/fs/cgroup/cgroup.controllers') ? 2 : 1}.`,
  `CPU is user + system time of the process (\`process.cpuUsage\` for the collector, \`/proc/PID/stat\` for node_exporter);`,
  `a cycle is what the scheduler does per run: collect(), apply() and rendering the collector's registry;`,
  `steady state is the median of ${CYCLES} cycles with no container events.`,
  '',
  `Reference, same run: one full node_exporter scrape (default collectors) costs **${fmt(reference.cpu)} ms CPU** (${fmt(reference.wall)} ms wall; median of 3 × 20 scrapes).`,
  '',
  '| running containers | steady cycle, stats: cgroup (CPU / wall ms) | steady cycle, stats: none | inspects in steady cycles | after 50 events (CPU / wall ms, inspects) | one stats API poll of all (stats: api) | one `GET /containers/json` | startup (list + inspect all) |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.n} (${r.all} on the host) | ${fmt(r.steadyCpu)} / ${fmt(r.steadyWall)} | ${fmt(r.noneCpu)} / ${fmt(r.noneWall)} | ${r.steadyInspects} in ${CYCLES} | ${fmt(r.burst.cpu)} / ${fmt(r.burst.wall)}, ${r.burstInspects} | ${fmt(r.api.cpu)} / ${fmt(r.api.wall)} | ${fmt(r.listCpu)} / ${fmt(r.listWall)} | ${fmt(r.startup.cpu)} / ${fmt(r.startup.wall)} |`,
  ),
  '',
  `Target: a steady-state cycle at 50 containers costs no more CPU than one node_exporter full scrape: ${verdict}.`,
  'The cgroup path is the difference between the `cgroup` and `none` columns; the stats API path is the poll',
  "column (CPU of this process only: dockerd's own CPU for the stats calls is not counted and is larger).",
  '',
];
writeResultsSection(RESULTS, SECTION, lines.join('\n'));
console.log(`wrote "${SECTION}" to ${RESULTS}`);
