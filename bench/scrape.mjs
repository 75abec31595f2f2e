#!/usr/bin/env node
// Scrape benchmark: watchpost's exporter against Debian's prometheus-node-exporter,
// both started by this script on free loopback ports and measured in the same run.
//
//   npm run bench:scrape            (builds first, then runs this file)
//   node bench/scrape.mjs           (after `npx tsc -p tsconfig.json`)
//
// Environment (all optional):
//   BENCH_SCRAPES=2000        minimum scrapes per sequential run (3 runs per server)
//   BENCH_MIN_TICKS=200       a sequential run goes on past BENCH_SCRAPES until the server
//                             has used this many clock ticks of CPU ...
//   BENCH_MAX_SECONDS=60      ... or for at most this long
//   BENCH_RUNS=3              sequential runs per server (median reported)
//   BENCH_CONCURRENCY=16      parallel keep-alive clients in the concurrent run
//   BENCH_SECONDS=10          duration bound of the concurrent run
//   BENCH_CONCURRENT_MAX=200000  count bound of the concurrent run
//   BENCH_GZIP_SCRAPES=500    scrapes of the short gzip run (0 skips it)
//   BENCH_IDLE_SECONDS=30     idle window to measure background CPU (0 skips it)
//   BENCH_SCRAPE_INTERVAL=15  Prometheus scrape interval (s) of the cadence window
//   BENCH_CADENCE_INTERVALS=4 intervals in the cadence window, one scrape at the start of
//                             each, as Prometheus scrapes (0 skips it): CPU per interval
//   BENCH_WARMUP=200          warm-up scrapes per server
//   BENCH_ENFORCE=1           exit 3 when a target is missed (default: report only)
//   BENCH_RESULTS=path        where to write the results (default bench/RESULTS.md)
//   NODE_EXPORTER=path        node_exporter binary (default prometheus-node-exporter)
//
// Only node: built-ins are used. Every process this script starts is stopped by its PID.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { collectorCost, SECTION as COLLECTOR_COST_SECTION } from './collector-cost.mjs';
import { env, writeSection as writeResultsSection } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const SECTION = '## Scrape: watchpost vs node_exporter';

const CFG = {
  scrapes: env('BENCH_SCRAPES', 2000),
  minTicks: env('BENCH_MIN_TICKS', 200),
  maxSeconds: env('BENCH_MAX_SECONDS', 60),
  runs: Math.max(1, env('BENCH_RUNS', 3)),
  concurrency: Math.max(1, env('BENCH_CONCURRENCY', 16)),
  seconds: env('BENCH_SECONDS', 10),
  concurrentMax: env('BENCH_CONCURRENT_MAX', 200_000),
  gzipScrapes: env('BENCH_GZIP_SCRAPES', 500),
  idleSeconds: env('BENCH_IDLE_SECONDS', 30),
  scrapeInterval: env('BENCH_SCRAPE_INTERVAL', 15),
  cadenceIntervals: env('BENCH_CADENCE_INTERVALS', 4),
  warmup: env('BENCH_WARMUP', 200),
  enforce: process.env.BENCH_ENFORCE === '1',
  results: process.env.BENCH_RESULTS || join(HERE, 'RESULTS.md'),
  nodeExporter: process.env.NODE_EXPORTER || 'prometheus-node-exporter',
};
const TARGET = { cpu: 0.25, p50: 0.2 };
/** Issue 14's footprint targets: RSS after the runs, and CPU per scrape interval against node_exporter's scrape. */
const FOOTPRINT = { rssMiB: 80, intervalRatio: 5 };

// ---------------------------------------------------------------- processes

/** Every child still running, by PID, so that every exit path can stop it. */
const children = new Map();

function killAllSync() {
  for (const [pid] of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping servers\n`);
    killAllSync();
    process.exit(130);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a server as a child process; keeps the tail of its stderr/stdout for error reports. */
function startChild(name, cmd, args) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  const s = { name, cmd, args, child, pid: child.pid, output: '', exited: null };
  const keep = (chunk) => {
    s.output = (s.output + chunk.toString('utf8')).slice(-16_384);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (err) => {
    s.exited = { err };
  });
  child.on('exit', (code, signal) => {
    s.exited = { code, signal };
    children.delete(s.pid);
  });
  if (child.pid !== undefined) children.set(child.pid, s);
  return s;
}

async function stopChild(s) {
  if (!s || s.exited || s.pid === undefined) return;
  const gone = new Promise((resolve) => s.child.once('exit', resolve));
  try {
    process.kill(s.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await gone;
  clearTimeout(t);
  children.delete(s.pid);
}

class StartError extends Error {}

function startFailure(s, why) {
  const how = s.exited?.err
    ? `could not be run: ${s.exited.err.message}`
    : s.exited
      ? `exited (code ${s.exited.code}, signal ${s.exited.signal})`
      : why;
  return new StartError(
    `${s.name} failed to start: ${how}\ncommand: ${[s.cmd, ...s.args].join(' ')}\n--- its output ---\n${s.output || '(none)'}`,
  );
}

/** Polls the given paths until each answers 200, failing early if the child exits. */
async function waitReady(s, port, paths, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(paths);
  let last = '';
  while (pending.size > 0) {
    if (s.exited) throw startFailure(s);
    if (Date.now() > deadline) throw startFailure(s, `not ready after ${timeoutMs / 1000}s (last: ${last})`);
    for (const path of [...pending]) {
      try {
        const r = await get({ port, path, agent: false, timeoutMs: 2000 });
        if (r.status === 200) pending.delete(path);
        else last = `${path} → ${r.status}`;
      } catch (err) {
        last = `${path} → ${err.code ?? err.message}`;
      }
    }
    if (pending.size > 0) await sleep(100);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  return Number(rest[14 - 3]) + Number(rest[15 - 3]);
}

/** VmRSS of a process, in MiB. */
function rssMiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const ticksToMs = (t) => (t * 1000) / CLK_TCK;

/**
 * CPU time of a process in ms, all its threads, from /proc/PID/task/TID/schedstat (the
 * scheduler's nanosecond run time), for windows where a 10 ms tick is too coarse: an idle
 * server uses a few ticks a minute. Undefined where the kernel has no schedstat. A thread
 * that exits inside a window takes its time with it; both servers keep their threads.
 */
function cpuMsPrecise(pid) {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited between the listing and the read
      }
    }
  } catch {
    return undefined;
  }
  return Number.isFinite(ns) && ns > 0 ? ns / 1e6 : undefined;
}

/** CPU ms of `pid` (precise where schedstat exists) and its ticks, to subtract later. */
const cpuSample = (pid) => ({ ms: cpuMsPrecise(pid), ticks: cpuTicks(pid) });
/** CPU used between two samples, in ms: schedstat's figure, or ticks where there is none. */
const cpuSince = (a, b) =>
  a.ms !== undefined && b.ms !== undefined ? b.ms - a.ms : ticksToMs(b.ticks - a.ticks);

// ---------------------------------------------------------------- HTTP

/** One GET that reads the whole body. Resolves with status, headers, body bytes and latency (ns). */
function get({ port, path = '/metrics', agent, gzip = false, timeoutMs = 30_000, keepBody = false }) {
  return new Promise((resolve, reject) => {
    const headers = gzip ? { 'Accept-Encoding': 'gzip' } : {};
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent, headers }, (res) => {
      let bytes = 0;
      const chunks = keepBody ? [] : null;
      res.on('data', (c) => {
        bytes += c.length;
        if (chunks) chunks.push(c);
      });
      res.on('end', () => {
        const ns = process.hrtime.bigint() - t0;
        resolve({
          status: res.statusCode,
          headers: res.headers,
          bytes,
          ns,
          body: chunks && Buffer.concat(chunks),
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const keepAliveAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });

function check(r, server) {
  if (r.status !== 200) throw new Error(`${server.name}: GET /metrics answered ${r.status}`);
}

// ---------------------------------------------------------------- measurements

function pct(sortedNs, p) {
  if (sortedNs.length === 0) return NaN;
  const i = Math.min(sortedNs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedNs.length) - 1));
  return Number(sortedNs[i]) / 1e6; // ms
}

function summarise(latNs) {
  const s = latNs.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: pct(s, 100) };
}

async function warmup(server) {
  const agent = keepAliveAgent();
  try {
    for (let i = 0; i < CFG.warmup; i++) check(await get({ port: server.port, agent }), server);
  } finally {
    agent.destroy();
  }
}

/**
 * Sequential scrapes on one keep-alive connection. Runs at least `minScrapes`, then keeps
 * going until the server has used `minTicks` of CPU (or `maxSeconds` passed), so that the
 * coarse clock-tick CPU figure has a known, small relative error.
 */
async function sequential(
  server,
  { minScrapes, gzip = false, minTicks = CFG.minTicks, maxSeconds = CFG.maxSeconds },
) {
  const agent = keepAliveAgent();
  const lat = [];
  let bytes = 0;
  try {
    const start = Date.now();
    const t0 = cpuTicks(server.pid);
    for (;;) {
      const r = await get({ port: server.port, agent, gzip });
      check(r, server);
      lat.push(r.ns);
      bytes = r.bytes;
      if (lat.length >= minScrapes) {
        if (lat.length % 50 !== 0) continue; // read /proc only now and then
        if (cpuTicks(server.pid) - t0 >= minTicks || Date.now() - start >= maxSeconds * 1000) break;
      }
    }
    const ticks = cpuTicks(server.pid) - t0;
    const wallS = (Date.now() - start) / 1000;
    return {
      scrapes: lat.length,
      ticks,
      wallS,
      cpuPer1000: (ticksToMs(ticks) * 1000) / lat.length,
      bytes,
      rss: rssMiB(server.pid),
      ...summarise(lat),
    };
  } finally {
    agent.destroy();
  }
}

/** C clients, each on its own keep-alive connection, for at most `seconds` and at most `max` scrapes. */
async function concurrent(server, { clients, seconds, max }) {
  const lat = [];
  let issued = 0;
  const deadline = Date.now() + seconds * 1000;
  const t0 = cpuTicks(server.pid);
  const start = process.hrtime.bigint();
  const worker = async () => {
    const agent = keepAliveAgent();
    try {
      while (Date.now() < deadline && issued < max) {
        issued++;
        const r = await get({ port: server.port, agent });
        check(r, server);
        lat.push(r.ns);
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const wallS = Number(process.hrtime.bigint() - start) / 1e9;
  const ticks = cpuTicks(server.pid) - t0;
  return {
    scrapes: lat.length,
    wallS,
    rate: lat.length / wallS,
    ticks,
    cpuPer1000: (ticksToMs(ticks) * 1000) / lat.length,
    rss: rssMiB(server.pid),
    ...summarise(lat),
  };
}

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function medianOf(runs) {
  const keys = ['scrapes', 'ticks', 'cpuPer1000', 'bytes', 'rss', 'p50', 'p90', 'p99', 'max'];
  return Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))]));
}

// ---------------------------------------------------------------- report

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const fi = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  let nproc;
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    nproc = String(os.availableParallelism());
  }
  let ne = 'unknown';
  try {
    // node_exporter prints its version on stdout (older builds: stderr).
    const out = execFileSync(CFG.nodeExporter, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ne = out.split('\n')[0].trim();
  } catch (err) {
    ne = String(err.stderr ?? err.message)
      .split('\n')[0]
      .trim();
  }
  let wp = 'unknown';
  try {
    wp = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  } catch {
    // keep unknown
  }
  return { nproc, model, node: process.version, ne, wp, kernel: `${os.type()} ${os.release()}` };
}

function render({ m, seq, seqRuns, conc, gz, idle, cadence, ratios, verdict, order, date, load }) {
  const W = 'watchpost';
  const N = 'node_exporter';
  const seqTable = table(
    ['sequential (keep-alive, plain)', W, N, `${W}/${N}`],
    [
      ['CPU ms / 1000 scrapes', f(seq.w.cpuPer1000, 1), f(seq.n.cpuPer1000, 1), f(ratios.cpu, 3)],
      ['p50 latency (ms)', f(seq.w.p50, 3), f(seq.n.p50, 3), f(ratios.p50, 3)],
      ['p90 latency (ms)', f(seq.w.p90, 3), f(seq.n.p90, 3), f(seq.w.p90 / seq.n.p90, 3)],
      ['p99 latency (ms)', f(seq.w.p99, 3), f(seq.n.p99, 3), f(seq.w.p99 / seq.n.p99, 3)],
      ['max latency (ms)', f(seq.w.max, 3), f(seq.n.max, 3), ''],
      ['response size (bytes)', fi(seq.w.bytes), fi(seq.n.bytes), f(seq.w.bytes / seq.n.bytes, 3)],
      ['RSS after run (MiB)', f(seq.w.rss, 1), f(seq.n.rss, 1), f(seq.w.rss / seq.n.rss, 3)],
      ['scrapes per run (median)', fi(seq.w.scrapes), fi(seq.n.scrapes), ''],
      ['CPU ticks per run (median)', fi(seq.w.ticks), fi(seq.n.ticks), ''],
    ],
  );
  const runsTable = table(
    ['run', 'server', 'scrapes', 'ticks', 'CPU ms/1000', 'p50 ms', 'p99 ms', 'wall s'],
    seqRuns.map((r) => [
      String(r.run),
      r.name,
      fi(r.scrapes),
      fi(r.ticks),
      f(r.cpuPer1000, 1),
      f(r.p50, 3),
      f(r.p99, 3),
      f(r.wallS, 1),
    ]),
  );
  const concTable = table(
    [`concurrent (${CFG.concurrency} keep-alive clients)`, W, N],
    [
      ['scrapes/s', fi(conc.w.rate), fi(conc.n.rate)],
      ['p50 latency (ms)', f(conc.w.p50, 3), f(conc.n.p50, 3)],
      ['p99 latency (ms)', f(conc.w.p99, 3), f(conc.n.p99, 3)],
      ['CPU ms / 1000 scrapes', f(conc.w.cpuPer1000, 1), f(conc.n.cpuPer1000, 1)],
      ['RSS after run (MiB)', f(conc.w.rss, 1), f(conc.n.rss, 1)],
      [
        'scrapes / wall s',
        `${fi(conc.w.scrapes)} / ${f(conc.w.wallS, 1)}`,
        `${fi(conc.n.scrapes)} / ${f(conc.n.wallS, 1)}`,
      ],
      ['CPU ticks', fi(conc.w.ticks), fi(conc.n.ticks)],
    ],
  );
  const gzTable = gz
    ? table(
        [`gzip (Accept-Encoding: gzip, ${CFG.gzipScrapes}+ sequential)`, W, N],
        [
          ['CPU ms / 1000 scrapes', f(gz.w.cpuPer1000, 1), f(gz.n.cpuPer1000, 1)],
          ['p50 latency (ms)', f(gz.w.p50, 3), f(gz.n.p50, 3)],
          ['p99 latency (ms)', f(gz.w.p99, 3), f(gz.n.p99, 3)],
          ['response size (bytes)', fi(gz.w.bytes), fi(gz.n.bytes)],
          [
            'scrapes / CPU ticks',
            `${fi(gz.w.scrapes)} / ${fi(gz.w.ticks)}`,
            `${fi(gz.n.scrapes)} / ${fi(gz.n.ticks)}`,
          ],
        ],
      )
    : '_gzip run skipped (BENCH_GZIP_SCRAPES=0)._';
  const iv = CFG.scrapeInterval;
  const neScrapeMs = seq.n.cpuPer1000 / 1000;
  const cpuHow = cadence?.precise === false ? 'utime+stime, ±1 tick' : 'schedstat, ns';
  const idleLine = idle
    ? `${table(
        [`idle (${CFG.idleSeconds} s, no scrapes)`, W, N],
        [
          ['background CPU (ms/s)', f(idle.w, 2), f(idle.n, 2)],
          ['CPU ticks in the window (cross-check)', fi(idle.wt), fi(idle.nt)],
        ],
      )}

The idle window measures what each server spends with nobody scraping (watchpost: its collectors and the Node.js runtime; node_exporter collects only when scraped). CPU is each process's run time summed over its threads (${cpuHow}).`
    : '';
  const cadenceLine = cadence
    ? `${table(
        [`cadence (${CFG.cadenceIntervals} × ${iv} s, one scrape at the start of each)`, W, N, `${W}/${N}`],
        [
          [
            `CPU per ${iv} s interval, measured (ms)`,
            f(cadence.w, 1),
            f(cadence.n, 1),
            f(cadence.w / cadence.n, 2),
          ],
          [
            `watchpost's interval against node_exporter's scrape in the sequential runs (ms)`,
            f(cadence.w, 1),
            f(neScrapeMs, 1),
            f(cadence.w / neScrapeMs, 2),
          ],
          ['CPU ticks in the window (cross-check)', fi(cadence.wt), fi(cadence.nt), ''],
        ],
      )}

The cadence window is what a deployment costs: each server scraped once every ${iv} s (BENCH_SCRAPE_INTERVAL), as Prometheus does, for ${CFG.cadenceIntervals} intervals, its CPU (${cpuHow}) divided by the intervals. For watchpost it holds one interval's collector runs, the measurement of its process metrics for the scrape that reads them, and the scrape itself. The issue's target compares it with node_exporter's CPU per scrape from the sequential runs (the second row: warm, measured over thousands of scrapes, and lower than node_exporter's own cold scrape in the first row, so the stricter of the two).`
    : '';
  const rss = seq.w.rss;
  const intervalRatio = cadence ? cadence.w / neScrapeMs : NaN;
  const footprint = `**Issue 14's footprint targets** in this run: RSS after the sequential runs ${f(rss, 1)} MiB (target ≤ ${FOOTPRINT.rssMiB} MiB: **${rss <= FOOTPRINT.rssMiB ? 'PASS' : 'FAIL'}**); CPU per ${iv} s scrape interval ${cadence ? `${f(cadence.w, 1)} ms against node_exporter's ${f(neScrapeMs, 1)} ms per scrape = ${f(intervalRatio, 2)}× (target ≤ ${FOOTPRINT.intervalRatio}×: **${intervalRatio <= FOOTPRINT.intervalRatio ? 'PASS' : 'FAIL'}**)` : 'not measured (BENCH_CADENCE_INTERVALS=0)'}; per-scrape CPU ${f(seq.w.cpuPer1000, 1)} ms / 1000 scrapes.`;
  const loadLine = `Load average (1, 5, 15 min) at the start of the run: ${load.start.map((x) => f(x, 2)).join(', ')}; at its end: ${load.end.map((x) => f(x, 2)).join(', ')}.`;
  const tickErr = (t) => (t > 0 ? `±${f(100 / t, 1)} %` : 'n/a');
  return `${SECTION}

Date: ${date}. Machine: ${m.nproc} CPUs (nproc), ${m.model}, ${m.kernel}; Node.js ${m.node}; ${m.ne}; watchpost ${m.wp}.

${loadLine}

${footprint}

Reproduce: \`npm run bench:scrape\` (settings: BENCH_SCRAPES=${CFG.scrapes}, BENCH_MIN_TICKS=${CFG.minTicks}, BENCH_RUNS=${CFG.runs}, BENCH_CONCURRENCY=${CFG.concurrency}, BENCH_SECONDS=${CFG.seconds}, BENCH_CONCURRENT_MAX=${CFG.concurrentMax}, BENCH_GZIP_SCRAPES=${CFG.gzipScrapes}, BENCH_IDLE_SECONDS=${CFG.idleSeconds}, BENCH_SCRAPE_INTERVAL=${CFG.scrapeInterval}, BENCH_CADENCE_INTERVALS=${CFG.cadenceIntervals}, BENCH_WARMUP=${CFG.warmup}). Both servers run at once on free 127.0.0.1 ports: watchpost with its built-in default config (\`node dist/cli/main.js exporter --listen 127.0.0.1:PORT\`), node_exporter with its full default collector set (\`${CFG.nodeExporter} --web.listen-address=127.0.0.1:PORT\`).

**Targets** (watchpost / node_exporter, sequential, median of ${CFG.runs} runs): CPU per scrape ${f(ratios.cpu, 3)} (target ≤ ${TARGET.cpu}: **${ratios.cpu <= TARGET.cpu ? 'PASS' : 'FAIL'}**), p50 latency ${f(ratios.p50, 3)} (target ≤ ${TARGET.p50}: **${ratios.p50 <= TARGET.p50 ? 'PASS' : 'FAIL'}**). Overall: **${verdict}**.

${seqTable}

Each figure is the median of that figure over ${CFG.runs} sequential runs per server (so one column may mix runs), each at least ${CFG.scrapes} scrapes on one keep-alive connection, extended until the server had used ${CFG.minTicks} clock ticks of CPU (1 tick = ${f(1000 / CLK_TCK, 0)} ms) or ${CFG.maxSeconds} s had passed; tick resolution error on the median run: watchpost ${tickErr(seq.w.ticks)}, node_exporter ${tickErr(seq.n.ticks)}. Run order: ${order}.

${runsTable}

${concTable}

${gzTable}

${idleLine}

${cadenceLine}

Method. Latency is measured by the client from sending the request to the last byte of the body (\`process.hrtime.bigint()\`), with no gzip unless stated, after ${CFG.warmup} warm-up scrapes per server. CPU is the server process's own utime+stime from \`/proc/PID/stat\` before and after a run, divided by the scrapes in that run, so any background work the server does meanwhile (watchpost's collectors) is charged to the scrapes; RSS is VmRSS from \`/proc/PID/status\` after the run. The client runs on the same ${m.nproc} CPUs as both servers, so latencies include its scheduling. watchpost answers a scrape by sending a Buffer that its collectors rendered in the background on their own intervals (the exposition is re-joined only when a part changes), after measuring its process and Node.js metrics if they are older than \`exporter.process_metrics_interval\` (5 s; so once per 5 s in these back-to-back runs, and for every scrape at a 15 s cadence), so a scrape costs an HTTP round trip and a write of ~${fi(seq.w.bytes)} bytes, whatever the collectors do. node_exporter instead runs every enabled collector on each scrape — reading /proc and /sys (stat, meminfo, diskstats, netdev, filesystems via statfs, hwmon, …) in parallel goroutines — then gathers, sorts and encodes the ~${fi(seq.n.bytes)}-byte exposition; its cost therefore grows with the host's devices and mounts, and its figures here are for this machine.
`;
}

const writeResults = (section) => writeResultsSection(CFG.results, SECTION, section);

// ---------------------------------------------------------------- main

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

async function main() {
  const mainJs = join(ROOT, 'dist/cli/main.js');
  if (!existsSync(mainJs))
    throw new StartError(
      `${mainJs} is missing: run \`npx tsc -p tsconfig.json\` (or use \`npm run bench:scrape\`)`,
    );
  const m = machine();
  const date = new Date().toISOString();
  const loadStart = os.loadavg();

  const [wpPort, nePort] = [await freePort(), await freePort()];
  const wp = startChild('watchpost', process.execPath, [
    mainJs,
    'exporter',
    '--listen',
    `127.0.0.1:${wpPort}`,
  ]);
  wp.port = wpPort;
  const ne = startChild('node_exporter', CFG.nodeExporter, [`--web.listen-address=127.0.0.1:${nePort}`]);
  ne.port = nePort;
  try {
    await Promise.all([waitReady(wp, wpPort, ['/-/ready', '/metrics']), waitReady(ne, nePort, ['/metrics'])]);
    log(
      `watchpost pid ${wp.pid} on 127.0.0.1:${wpPort}; node_exporter pid ${ne.pid} on 127.0.0.1:${nePort}; CLK_TCK ${CLK_TCK}`,
    );

    // Sanity: both serve an exposition, and gzip really is gzip.
    for (const s of [wp, ne]) {
      const r = await get({ port: s.port, agent: false, gzip: true, keepBody: true });
      check(r, s);
      if (r.headers['content-encoding'] === 'gzip') gunzipSync(r.body);
      else log(`${s.name} did not gzip its answer to Accept-Encoding: gzip`);
    }

    log(`warm-up: ${CFG.warmup} scrapes each`);
    await warmup(wp);
    await warmup(ne);

    if (CFG.idleSeconds > 0) {
      log(`idle: ${CFG.idleSeconds} s with no scrapes`);
    }
    const idle =
      CFG.idleSeconds > 0
        ? await (async () => {
            await sleep(1000); // let the warm-up's garbage collection settle
            const w0 = cpuSample(wp.pid);
            const n0 = cpuSample(ne.pid);
            await sleep(CFG.idleSeconds * 1000);
            const w1 = cpuSample(wp.pid);
            const n1 = cpuSample(ne.pid);
            return {
              wt: w1.ticks - w0.ticks,
              nt: n1.ticks - n0.ticks,
              w: cpuSince(w0, w1) / CFG.idleSeconds,
              n: cpuSince(n0, n1) / CFG.idleSeconds,
            };
          })()
        : undefined;

    // The cadence window: both servers scraped once at the start of each interval, as
    // Prometheus does, so that what a server does per scrape and what it does between
    // scrapes (collectors, timers, measuring its own process metrics for the scrape) are
    // both counted, at the rate a real deployment causes them.
    if (CFG.cadenceIntervals > 0)
      log(`cadence: ${CFG.cadenceIntervals} intervals of ${CFG.scrapeInterval} s, one scrape each`);
    const cadence =
      CFG.cadenceIntervals > 0
        ? await (async () => {
            const w0 = cpuSample(wp.pid);
            const n0 = cpuSample(ne.pid);
            const t0 = Date.now();
            for (let i = 0; i < CFG.cadenceIntervals; i++) {
              for (const s of [wp, ne]) check(await get({ port: s.port, agent: false }), s);
              await sleep(Math.max(0, t0 + (i + 1) * CFG.scrapeInterval * 1000 - Date.now()));
            }
            const w1 = cpuSample(wp.pid);
            const n1 = cpuSample(ne.pid);
            return {
              wt: w1.ticks - w0.ticks,
              nt: n1.ticks - n0.ticks,
              w: cpuSince(w0, w1) / CFG.cadenceIntervals,
              n: cpuSince(n0, n1) / CFG.cadenceIntervals,
              precise: w0.ms !== undefined,
            };
          })()
        : undefined;

    // Sequential runs, alternating which server goes first.
    const seqRuns = [];
    const orders = [];
    for (let run = 1; run <= CFG.runs; run++) {
      const pair = run % 2 === 1 ? [wp, ne] : [ne, wp];
      orders.push(pair.map((s) => s.name).join(' → '));
      for (const s of pair) {
        log(`sequential run ${run}/${CFG.runs}: ${s.name}`);
        const r = await sequential(s, { minScrapes: CFG.scrapes });
        seqRuns.push({ run, name: s.name, ...r });
        log(
          `  ${r.scrapes} scrapes, ${r.ticks} ticks, ${f(r.cpuPer1000, 1)} ms CPU/1000, p50 ${f(r.p50, 3)} ms, p99 ${f(r.p99, 3)} ms`,
        );
      }
    }
    const seq = {
      w: medianOf(seqRuns.filter((r) => r.name === wp.name)),
      n: medianOf(seqRuns.filter((r) => r.name === ne.name)),
    };

    // Concurrent: the opposite order of the last sequential run.
    const concOrder = CFG.runs % 2 === 1 ? [ne, wp] : [wp, ne];
    const conc = {};
    for (const s of concOrder) {
      log(
        `concurrent: ${s.name}, ${CFG.concurrency} clients, ${CFG.seconds} s or ${CFG.concurrentMax} scrapes`,
      );
      conc[s === wp ? 'w' : 'n'] = await concurrent(s, {
        clients: CFG.concurrency,
        seconds: CFG.seconds,
        max: CFG.concurrentMax,
      });
    }

    let gz;
    if (CFG.gzipScrapes > 0) {
      gz = {};
      for (const s of [wp, ne]) {
        log(`gzip: ${s.name}, ${CFG.gzipScrapes}+ scrapes`);
        // Short run: fewer ticks needed, and a shorter time bound.
        gz[s === wp ? 'w' : 'n'] = await sequential(s, {
          minScrapes: CFG.gzipScrapes,
          gzip: true,
          minTicks: 50,
          maxSeconds: 15,
        });
      }
    }

    const ratios = { cpu: seq.w.cpuPer1000 / seq.n.cpuPer1000, p50: seq.w.p50 / seq.n.p50 };
    const pass = ratios.cpu <= TARGET.cpu && ratios.p50 <= TARGET.p50;
    const verdict = pass ? 'PASS' : 'FAIL';
    const order = `sequential ${orders.map((o, i) => `run ${i + 1} ${o}`).join('; ')}; concurrent ${concOrder.map((s) => s.name).join(' → ')}; gzip watchpost → node_exporter`;

    for (const s of [wp, ne])
      if (s.exited) throw new Error(`${s.name} exited during the benchmark\n${s.output}`);
    const load = { start: loadStart, end: os.loadavg() };
    const section = render({ m, seq, seqRuns, conc, gz, idle, cadence, ratios, verdict, order, date, load });
    const path = writeResults(section);
    // What the network and sensors collectors add to the background cost, path by path.
    writeResultsSection(CFG.results, COLLECTOR_COST_SECTION, await collectorCost());
    process.stdout.write(`\n${section}\n`);
    log(`wrote ${relative(process.cwd(), path) || path}`);
    return CFG.enforce && !pass ? 3 : 0;
  } finally {
    await Promise.all([stopChild(wp), stopChild(ne)]);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      `bench: ${err instanceof StartError ? '' : 'failed: '}${err.stack && !(err instanceof StartError) ? err.stack : err.message}\n`,
    );
    killAllSync();
    process.exit(err instanceof StartError ? 2 : 1);
  },
);
