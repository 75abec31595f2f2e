// The cost of one run of the network and sensors collectors, and of the host OS info, on this
// machine: the Linux fast path (/proc and /sys, read directly) against systeminformation, the
// portable path, measured in the same process in the same run. bench/scrape.mjs calls it and
// writes its own section of bench/RESULTS.md; it also runs alone:
//
//   node bench/collector-cost.mjs        (after `npx tsc -p tsconfig.json`)
//
// Environment (all optional):
//   BENCH_COLLECTOR_RUNS=300     runs per path (systeminformation: a fifth of it, at least 20)
//   BENCH_SCRAPE_INTERVAL=15     Prometheus scrape interval (s) for the "per interval" column
//
// CPU is this process's user+system time (process.cpuUsage, all its threads) plus the time of
// the child processes it waited for (cutime+cstime in /proc/self/stat): systeminformation runs
// a shell per interface on Linux, and their CPU counts. Only node: built-ins and dist/ are used.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { env, writeSection } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
export const SECTION = '## Scrape: network and sensors collectors, /proc against systeminformation';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU ms of waited-for children (fields 16 and 17 of /proc/self/stat). */
function childrenCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[16 - 3]) + Number(rest[17 - 3])) * 1000) / CLK_TCK;
}

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000 + childrenCpuMs();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `gapMs` between runs, outside the measured time: systeminformation answers networkStats
 * from a cache for 500 ms, which a collector running every 15 s never hits.
 */
async function measure(fn, runs, gapMs = 0) {
  for (let i = 0; i < Math.min(10, runs); i++) await fn(); // warm-up: JIT, first imports
  const walls = [];
  let cpu = 0;
  let wall = 0;
  for (let i = 0; i < runs; i++) {
    if (gapMs > 0) await sleep(gapMs);
    const c0 = cpuMs();
    const s = performance.now();
    await fn();
    const w = performance.now() - s;
    cpu += cpuMs() - c0;
    wall += w;
    walls.push(w);
  }
  walls.sort((a, b) => a - b);
  return { runs, cpuPerRun: cpu / runs, wallPerRun: wall / runs, p50: walls[Math.floor(walls.length / 2)] };
}

const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** Measures every path; returns the RESULTS.md section. */
export async function collectorCost({
  runs = env('BENCH_COLLECTOR_RUNS', 300),
  scrapeInterval = env('BENCH_SCRAPE_INTERVAL', 15),
} = {}) {
  const dist = (p) => pathToFileURL(join(ROOT, 'dist', p)).href;
  const { gatherNetwork } = await import(dist('exporter/collectors/network/gather.js'));
  const { gatherSensors } = await import(dist('exporter/collectors/sensors/gather.js'));
  const { readLinuxOsInfo } = await import(dist('exporter/sources/os-release.js'));
  const { siOsInfo } = await import(dist('exporter/sources/systeminformation.js'));
  const { compileUserRegex } = await import(dist('config/user-regex.js'));
  const si = (await import('systeminformation')).default;

  const signal = new AbortController().signal;
  const net = (source, exclude) => ({
    source,
    procfs: '/proc',
    sysfs: '/sys',
    exclude: compileUserRegex(exclude),
    expected: [],
  });
  const siRuns = Math.max(20, Math.round(runs / 5));
  const interfaces = (await gatherNetwork(net('procfs', '^$'), signal)).length;
  const defaults = (await gatherNetwork(net('procfs', '^(lo|veth.*|docker.*|br-.*)$'), signal)).length;
  const sensors = (await gatherSensors({ source: 'sysfs', sysfs: '/sys', thresholds: {} }, signal)).length;

  const rows = [
    [
      'network, /proc/1/net/dev + /sys/class/net (default exclusions)',
      runs,
      () => gatherNetwork(net('procfs', '^(lo|veth.*|docker.*|br-.*)$'), signal),
    ],
    [
      'network, /proc/1/net/dev + /sys/class/net (every interface)',
      runs,
      () => gatherNetwork(net('procfs', '^$'), signal),
    ],
    [
      'network, systeminformation (every interface)',
      siRuns,
      () => gatherNetwork(net('systeminformation', '^$'), signal),
    ],
    ["si.networkStats('*') alone", siRuns, () => si.networkStats('*')],
    [
      'sensors, /sys/class/hwmon',
      runs,
      () => gatherSensors({ source: 'sysfs', sysfs: '/sys', thresholds: {} }, signal),
    ],
    [
      'sensors, si.cpuTemperature()',
      siRuns,
      () => gatherSensors({ source: 'systeminformation', sysfs: '/sys', thresholds: {} }, signal),
    ],
    ['OS info, os-release + uname', runs, () => readLinuxOsInfo('/', signal)],
    ['OS info, si.osInfo()', siRuns, () => siOsInfo()],
  ];
  const results = [];
  for (const [name, n, fn] of rows) {
    process.stderr.write(`bench: collector cost: ${name}, ${n} runs\n`);
    results.push({ name, ...(await measure(fn, n, n === siRuns ? 600 : 0)) });
  }
  const fast = results[0];
  const slow = results[2];
  const table = [
    `| path (one run) | runs | CPU ms / run | wall ms / run | p50 wall ms | background CPU ms/s at a ${scrapeInterval} s interval |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.runs} | ${f(r.cpuPerRun)} | ${f(r.wallPerRun)} | ${f(r.p50)} | ${f(r.cpuPerRun / scrapeInterval)} |`,
    ),
  ].join('\n');
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `${SECTION}

Date: ${new Date().toISOString()}. Machine: ${os.availableParallelism()} CPUs, ${os.type()} ${os.release()}, Node.js ${process.version}; load average before the run ${load}. This host has ${interfaces} network interfaces (${defaults} kept by the default exclusions) and ${sensors} hwmon temperature sensors.

Reproduce: \`npm run bench:scrape\` (this section comes last; \`BENCH_COLLECTOR_RUNS=${runs}\`), or \`node bench/collector-cost.mjs\` after a build. Each path runs in one process, one run after the other, after 10 warm-up runs; systeminformation's runs are 600 ms apart (it serves network statistics from a 500 ms cache, which a 15 s interval never hits). CPU includes the shells systeminformation starts; with 10 ms clock ticks for those, its figures are ± 10 ms / runs.

${table}

The collectors run in the background, by default every 15 s (network) and 30 s (sensors), so their cost is one run per interval (the last column spreads it over a 15 s interval); the per-scrape cost is nil, since a scrape serialises what the last run produced. On this machine the /proc and /sys path costs ${f(fast.cpuPerRun)} ms of CPU per run against ${f(slow.cpuPerRun)} ms through systeminformation (${f(slow.cpuPerRun / fast.cpuPerRun, 0)}×), which also has no packet counters: the collector uses /proc and /sys on Linux and systeminformation elsewhere (\`source: auto\`).
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const section = await collectorCost();
  writeSection(process.env.BENCH_RESULTS || join(HERE, 'RESULTS.md'), SECTION, section);
  process.stdout.write(`\n${section}\n`);
}
