// The central store and the site agents: `npm run bench:central` (docs/scaling.md, "Long-term
// storage"; bench/README.md).
//
// N simulated hosts (BENCH_HOSTS, 20) in S sites (BENCH_SITES, 4) are served by a replay server on
// loopback: one port per host, each answering /metrics with the exposition recorded at the start
// of the run from a real watchpost exporter (`node dist/cli/main.js exporter`, built-in default
// config), its values varying from scrape to scrape (counters grow, gauges move, 0/1 flags stay).
// Replaying is cheaper than 20 exporters, so the 2 CPUs go to the programs measured.
//
// In the same run, at the same time, each site runs two agents that scrape its hosts every
// BENCH_SCRAPE_INTERVAL seconds and push with remote_write, each to its own central store:
//   - Prometheus in agent mode (`prometheus --enable-feature=agent`) → Prometheus as the store
//     (TSDB, `--web.enable-remote-write-receiver`);
//   - vmagent → VictoriaMetrics (single node) as the store.
// Both stores thus receive the same series from the same hosts at the same rate. After
// BENCH_WARMUP_SECONDS, a window of BENCH_SECONDS measures: series and samples/s ingested by each
// store (its own counters), each process's CPU (utime+stime, /proc/PID/stat) and RSS (VmRSS), and
// each store's disk (du of its data folder) per million samples ingested since it started, plus the
// size per sample once compacted (Prometheus: its blocks, cut every minute in this run; VictoriaMetrics:
// its merged parts). Every process listens on 127.0.0.1 and is stopped by PID at the end.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { URLSearchParams } from 'node:url';
import { env, writeSection } from './common.mjs';

const { fetch } = globalThis;
const ROOT = new URL('..', import.meta.url).pathname;
const CFG = {
  hosts: env('BENCH_HOSTS', 20),
  sites: env('BENCH_SITES', 4),
  interval: env('BENCH_SCRAPE_INTERVAL', 1),
  warmup: env('BENCH_WARMUP_SECONDS', 30),
  seconds: env('BENCH_SECONDS', 150),
  /** Prometheus store's block length in this run (hidden flag), so compacted blocks exist in a short run. */
  blockMinutes: env('BENCH_BLOCK_MINUTES', 1),
  results: process.env.BENCH_RESULTS || join(ROOT, 'bench', 'RESULTS.md'),
};
if (CFG.hosts < 1 || CFG.sites < 1 || CFG.sites > CFG.hosts)
  throw new Error('need 1 ≤ BENCH_SITES ≤ BENCH_HOSTS');
if (CFG.interval < 1) throw new Error('BENCH_SCRAPE_INTERVAL must be at least 1 (seconds)');
const BIN = {
  prometheus: process.env.PROMETHEUS || 'prometheus',
  victoria: process.env.VICTORIA_METRICS || 'victoria-metrics',
  vmagent: process.env.VMAGENT || 'vmagent',
};
// Everything ends within this bound, whatever hangs.
const HARD_LIMIT_MS = (CFG.warmup + CFG.seconds + 300) * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'wp-bench-central-'));
const children = new Map();

// ---------------------------------------------------------------- processes

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function start(name, cmd, args) {
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { name, cmd, args, child, pid: child.pid, output: '', exited: null };
  const keep = (c) => (s.output = (s.output + c.toString('utf8')).slice(-8192));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (err) => (s.exited = { err }));
  child.on('exit', (code, signal) => {
    s.exited = { code, signal };
    children.delete(s.pid);
  });
  if (child.pid !== undefined) children.set(child.pid, s);
  return s;
}

async function stop(s) {
  if (!s || s.exited || s.pid === undefined) return;
  const gone = new Promise((r) => s.child.once('exit', r));
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
  }, 10_000);
  await gone;
  clearTimeout(t);
}

function failure(s, why) {
  const how = s.exited?.err
    ? `could not be run: ${s.exited.err.message}`
    : s.exited
      ? `exited (code ${s.exited.code}, signal ${s.exited.signal})`
      : why;
  return new Error(
    `${s.name} ${how}\ncommand: ${[s.cmd, ...s.args].join(' ')}\n--- its output ---\n${s.output || '(none)'}`,
  );
}

async function waitOk(s, url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (s.exited) throw failure(s, '');
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
      last = String(r.status);
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    if (Date.now() > deadline)
      throw failure(s, `not ready at ${url} after ${timeoutMs / 1000}s (last: ${last})`);
    await sleep(250);
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process in ms (fields 14 and 15 of /proc/PID/stat). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

/** VmRSS of a process, in MiB. */
function rssMiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Bytes of the files under a folder (apparent size, what `du -sb` reports). */
function duBytes(path) {
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    try {
      if (e.isDirectory()) total += duBytes(p);
      else if (e.isFile()) total += statSync(p).size;
    } catch {
      // a part merged away while walking
    }
  }
  return total;
}

/** Sum of the samples of a metric (all label sets matching `labels`) in a /metrics page. */
async function metricSum(url, name, labels = () => true) {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name && labels(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

async function promQuery(base, expr) {
  const r = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: expr })}`, {
    signal: AbortSignal.timeout(30_000),
  });
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`${base}: ${expr}: ${body.error}`);
  return body.data.result.length ? Number(body.data.result[0].value[1]) : 0;
}

// ---------------------------------------------------------------- the replay of N hosts

/** One real exposition of the exporter with its built-in default config. */
async function recordExposition() {
  const port = await freePort();
  const exp = start('watchpost exporter', process.execPath, [
    join(ROOT, 'dist', 'cli', 'main.js'),
    'exporter',
    '--listen',
    `127.0.0.1:${port}`,
  ]);
  try {
    await waitOk(exp, `http://127.0.0.1:${port}/-/ready`);
    await sleep(5000); // every collector has run once
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } finally {
    await stop(exp);
  }
}

/**
 * The recorded lines, each sample with how it varies: a counter grows by up to 1 % of its value
 * (at least 1) per scrape, a 0/1 gauge and a timestamp stay, another gauge moves within ±5 % of its
 * recorded value, a last-success timestamp follows the clock. A value keeps its recorded decimals.
 */
function template(text) {
  const types = new Map();
  const lines = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) types.set(t[1], t[2]);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (line.startsWith('#') || !m) {
      lines.push({ text: line });
      continue;
    }
    const [, name, labels = '', raw] = m;
    const value = Number(raw);
    const family = name.replace(/_(total|count|sum|bucket|created)$/, '');
    const type = types.get(name) ?? types.get(family) ?? 'untyped';
    const counter = type === 'counter' || /_(total|count|sum|bucket)$/.test(name);
    const clock = /_last_.*timestamp_seconds$/.test(name);
    const fixed =
      !Number.isFinite(value) ||
      value === 0 ||
      value === 1 ||
      /timestamp|_info$|_expected|threshold|_max_/.test(name);
    // A value keeps the decimals it was recorded with (8.72 stays two decimals; 1e-7 style stays as is).
    const decimals = /^-?\d+\.(\d+)$/.exec(raw)?.[1].length ?? (Number.isInteger(value) ? 0 : undefined);
    const kind = counter ? 'counter' : clock ? 'clock' : fixed ? 'fixed' : 'gauge';
    lines.push({ prefix: `${name}${labels} `, value, decimals, kind });
  }
  return lines;
}

/** A host's exposition state: its own copy of the values, advanced at each scrape. */
function hostReplay(lines, seed) {
  let x = seed * 2654435761 + 1;
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const values = lines.map((l) => l.value);
  const started = Date.now();
  return () => {
    const out = [];
    lines.forEach((l, i) => {
      if (l.text !== undefined) return void out.push(l.text);
      let v = values[i];
      if (l.kind === 'counter') v += Math.max(1, Math.abs(v) * 0.01) * rand();
      else if (l.kind === 'gauge') v = l.value * (0.95 + 0.1 * rand());
      else if (l.kind === 'clock') v = l.value + (Date.now() - started) / 1000;
      if (l.decimals !== undefined) v = Number(v.toFixed(Math.min(l.decimals, 20)));
      values[i] = v;
      out.push(l.prefix + String(v));
    });
    return `${out.join('\n')}\n`;
  };
}

async function startReplay(lines) {
  const servers = [];
  for (let h = 0; h < CFG.hosts; h++) {
    const next = hostReplay(lines, h + 1);
    const srv = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(next());
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    servers.push(srv);
  }
  return servers;
}

// ---------------------------------------------------------------- run

async function main() {
  const dataDir = (name) => {
    const p = join(dir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const exposition = await recordExposition();
  const lines = template(exposition);
  const seriesPerHost = lines.filter((l) => l.prefix).length;
  const replay = await startReplay(lines);
  const hostPort = (h) => replay[h].address().port;
  const sites = Array.from({ length: CFG.sites }, (_, s) =>
    Array.from({ length: CFG.hosts }, (_, h) => h).filter((h) => h % CFG.sites === s),
  );

  // The two stores.
  const vmPort = await freePort();
  const vmData = dataDir('victoria-metrics');
  const vm = start('victoria-metrics', BIN.victoria, [
    `-storageDataPath=${vmData}`,
    `-httpListenAddr=127.0.0.1:${vmPort}`,
    '-retentionPeriod=1',
    // Answer queries up to now (default: not the last 30 s), so the window's scrapes are all counted.
    '-search.latencyOffset=0s',
  ]);
  const vmUrl = `http://127.0.0.1:${vmPort}`;
  const psPort = await freePort();
  const psData = dataDir('prometheus-store');
  writeFileSync(join(dir, 'store.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const ps = start('prometheus (store)', BIN.prometheus, [
    `--config.file=${join(dir, 'store.yml')}`,
    `--storage.tsdb.path=${psData}`,
    `--web.listen-address=127.0.0.1:${psPort}`,
    '--web.enable-remote-write-receiver',
    '--storage.tsdb.retention.time=1d',
    `--storage.tsdb.min-block-duration=${CFG.blockMinutes}m`,
    `--storage.tsdb.max-block-duration=${CFG.blockMinutes}m`,
  ]);
  const psUrl = `http://127.0.0.1:${psPort}`;
  await waitOk(vm, `${vmUrl}/health`);
  await waitOk(ps, `${psUrl}/-/ready`);

  // One agent of each kind per site.
  const agents = [];
  for (const [s, hosts] of sites.entries()) {
    const site = `site-${s + 1}`;
    const staticConfigs = hosts
      .map(
        (h) => `      - targets: ["127.0.0.1:${hostPort(h)}"]\n        labels: { host: "host-${h + 1}" }\n`,
      )
      .join('');
    const scrape = `scrape_configs:\n  - job_name: watchpost\n    static_configs:\n${staticConfigs}`;
    const pPort = await freePort();
    writeFileSync(
      join(dir, `prom-agent-${site}.yml`),
      `global:\n  scrape_interval: ${CFG.interval}s\n  scrape_timeout: ${CFG.interval}s\n  external_labels: { site: "${site}" }\n` +
        `remote_write:\n  - url: ${psUrl}/api/v1/write\n${scrape}`,
    );
    const pa = start(`prometheus agent ${site}`, BIN.prometheus, [
      '--enable-feature=agent',
      `--config.file=${join(dir, `prom-agent-${site}.yml`)}`,
      `--storage.agent.path=${dataDir(`prom-agent-${site}`)}`,
      `--web.listen-address=127.0.0.1:${pPort}`,
    ]);
    const vPort = await freePort();
    writeFileSync(
      join(dir, `vmagent-${site}.yml`),
      `global:\n  scrape_interval: ${CFG.interval}s\n  scrape_timeout: ${CFG.interval}s\n${scrape}`,
    );
    const va = start(`vmagent ${site}`, BIN.vmagent, [
      `-promscrape.config=${join(dir, `vmagent-${site}.yml`)}`,
      `-remoteWrite.url=${vmUrl}/api/v1/write`,
      `-remoteWrite.label=site=${site}`,
      `-remoteWrite.tmpDataPath=${dataDir(`vmagent-${site}`)}`,
      `-httpListenAddr=127.0.0.1:${vPort}`,
    ]);
    agents.push({
      kind: 'prometheus',
      site,
      hosts: hosts.length,
      proc: pa,
      url: `http://127.0.0.1:${pPort}`,
    });
    agents.push({ kind: 'vmagent', site, hosts: hosts.length, proc: va, url: `http://127.0.0.1:${vPort}` });
  }
  for (const a of agents) await waitOk(a.proc, `${a.url}${a.kind === 'vmagent' ? '/health' : '/-/ready'}`);

  const load0 = loadavg();
  console.log(
    `warm-up ${CFG.warmup}s: ${CFG.hosts} hosts × ${seriesPerHost} series, ${CFG.sites} sites, every ${CFG.interval}s`,
  );
  await sleep(CFG.warmup * 1000);

  // Counters of what each store ingested (remote-write samples only).
  const ingested = {
    vm: () => metricSum(`${vmUrl}/metrics`, 'vm_rows_inserted_total', (l) => l.includes('promremotewrite')),
    prometheus: () => metricSum(`${psUrl}/metrics`, 'prometheus_tsdb_head_samples_appended_total'),
  };
  const snap = async () => ({
    t: performance.now(),
    vm: await ingested.vm(),
    prometheus: await ingested.prometheus(),
    cpu: new Map([vm, ps, ...agents.map((a) => a.proc)].map((p) => [p.pid, cpuMs(p.pid)])),
  });
  const a = await snap();
  console.log(`measuring ${CFG.seconds}s`);
  await sleep(CFG.seconds * 1000);
  const b = await snap();
  const load1 = loadavg();
  const wall = (b.t - a.t) / 1000;
  for (const p of [vm, ps, ...agents.map((x) => x.proc)]) if (p.exited) throw failure(p, '');

  // Scrapes done and failed in the window, from the `up` series each store received.
  const w = `${Math.round(wall)}s`;
  const scrapes = {};
  for (const [key, base] of [
    ['vm', vmUrl],
    ['prometheus', psUrl],
  ])
    scrapes[key] = {
      done: await promQuery(base, `sum(count_over_time(up[${w}]))`),
      failed: await promQuery(base, `sum(count_over_time(up[${w}])) - sum(sum_over_time(up[${w}]))`),
    };

  // Series each store holds now (samples in the last 5 minutes).
  const series = {
    vm: await promQuery(vmUrl, 'count({__name__!=""})'),
    prometheus: await promQuery(psUrl, 'count({__name__!=""})'),
  };
  const rss = new Map([vm, ps, ...agents.map((x) => x.proc)].map((p) => [p.pid, rssMiB(p.pid)]));

  // Disk: everything under each data folder now, against every sample ingested since the start.
  const totalIngested = { vm: b.vm, prometheus: b.prometheus };
  const disk = { vm: duBytes(vmData), prometheus: duBytes(psData) };
  // Compacted: Prometheus's blocks (their meta.json counts the samples); VictoriaMetrics's parts.
  let blockBytes = 0;
  let blockChunkBytes = 0;
  let blockSamples = 0;
  for (const e of readdirSync(psData)) {
    if (!/^[0-9A-Z]{26}$/.test(e)) continue;
    try {
      const meta = JSON.parse(readFileSync(join(psData, e, 'meta.json'), 'utf8'));
      blockSamples += meta.stats.numSamples;
      blockBytes += duBytes(join(psData, e));
      blockChunkBytes += duBytes(join(psData, e, 'chunks'));
    } catch {
      // a block being written
    }
  }
  const vmMetrics = (name, pat) => metricSum(`${vmUrl}/metrics`, name, (l) => pat.test(l));
  const vmPartBytes = await vmMetrics('vm_data_size_bytes', /type="storage\//);
  const vmPartRows = await vmMetrics('vm_rows', /type="storage\//);
  const vmIndexBytes = await vmMetrics('vm_data_size_bytes', /type="indexdb/);

  const stores = [
    {
      name: 'VictoriaMetrics (single node)',
      key: 'vm',
      proc: vm,
      compacted: vmPartRows ? vmPartBytes / vmPartRows : NaN,
      compactedNote: `${fmt(vmPartRows)} samples in its parts, index (${mib(vmIndexBytes)} MiB) not included; parts merged over a longer life compress further`,
    },
    {
      name: 'Prometheus (TSDB, remote-write receiver)',
      key: 'prometheus',
      proc: ps,
      compacted: blockSamples ? blockBytes / blockSamples : NaN,
      compactedNote: `${fmt(blockSamples)} samples in ${CFG.blockMinutes}-minute blocks, index included (chunks alone: ${fmt(blockChunkBytes / blockSamples, 2)} bytes per sample; the index, written per block, weighs less in the 2-hour blocks of a real store)`,
    },
  ].map((s) => ({
    ...s,
    series: series[s.key],
    rate: (b[s.key] - a[s.key]) / wall,
    cpu: (b.cpu.get(s.proc.pid) - a.cpu.get(s.proc.pid)) / wall / 10, // % of one CPU
    rss: rss.get(s.proc.pid),
    disk: disk[s.key],
    total: totalIngested[s.key],
  }));

  const agentRows = ['prometheus', 'vmagent'].map((kind) => {
    const xs = agents.filter((x) => x.kind === kind);
    const hosts = xs.reduce((n, x) => n + x.hosts, 0);
    const rssSum = xs.reduce((n, x) => n + rss.get(x.proc.pid), 0);
    const cpuSum = xs.reduce((n, x) => n + (b.cpu.get(x.proc.pid) - a.cpu.get(x.proc.pid)), 0) / wall; // ms/s
    return {
      name: kind === 'prometheus' ? 'Prometheus agent mode' : 'vmagent',
      agents: xs.length,
      hosts,
      rssAgent: rssSum / xs.length,
      rssHost: rssSum / hosts,
      cpuAgent: cpuSum / xs.length / 10,
      cpuHost: cpuSum / hosts / 10,
      scrapes: scrapes[kind === 'prometheus' ? 'prometheus' : 'vm'],
    };
  });

  const versions = {
    prometheus: firstLine(BIN.prometheus, ['--version']),
    vm: firstLine(BIN.victoria, ['-version']) || dpkgVersion('victoria-metrics'),
  };
  const section = report({ stores, agentRows, seriesPerHost, wall, load0, load1, versions, exposition });
  writeSection(CFG.results, '## Central store and site agents', section);
  console.log(section);
}

function firstLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
      .split('\n')[0]
      .trim();
  } catch {
    return '';
  }
}
function dpkgVersion(pkg) {
  try {
    return `${pkg} ${execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' }).trim()} (Debian package)`;
  } catch {
    return pkg;
  }
}

const fmt = (n, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';
const mib = (bytes) => fmt(bytes / 1048576, 1);
const la = (l) => l.map((x) => x.toFixed(2)).join(', ');

function report({ stores, agentRows, seriesPerHost, wall, load0, load1, versions }) {
  const settings = `BENCH_HOSTS=${CFG.hosts}, BENCH_SITES=${CFG.sites}, BENCH_SCRAPE_INTERVAL=${CFG.interval}, BENCH_WARMUP_SECONDS=${CFG.warmup}, BENCH_SECONDS=${CFG.seconds}, BENCH_BLOCK_MINUTES=${CFG.blockMinutes}`;
  const expected = (CFG.hosts * seriesPerHost) / CFG.interval;
  const out = [];
  out.push('## Central store and site agents');
  out.push('');
  out.push(
    `Date: ${new Date().toISOString()}. Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}; ${versions.prometheus}; ${versions.vm}; vmagent from the same package.`,
  );
  out.push('');
  out.push(
    `Load average (1, 5, 15 min) at the start of the measured window: ${la(load0)}; at its end: ${la(load1)}.`,
  );
  out.push('');
  out.push(`Reproduce: \`npm run bench:central\` (settings: ${settings}).`);
  out.push('');
  out.push(
    `What ran, all on 127.0.0.1: a replay server for ${CFG.hosts} hosts (one port each) serving the exposition recorded at the start from a real watchpost exporter with its built-in default config (${seriesPerHost} series per host), its values varying per scrape (counters grow, gauges move within ±5 %, last-success timestamps follow the clock, 0/1 flags and other timestamps stay, each value with the decimals it was recorded with); ${CFG.sites} sites of ${CFG.hosts / CFG.sites} hosts; per site one Prometheus agent (\`--enable-feature=agent\`) pushing to Prometheus as the store and one vmagent pushing to VictoriaMetrics as the store, both scraping every ${CFG.interval} s with \`site\` and \`host\` labels. So each store receives the same ${fmt(CFG.hosts * seriesPerHost)} scraped series (plus the agents' \`up\`/\`scrape_*\` series) at the same time. Measured over a ${fmt(wall, 0)} s window after a ${CFG.warmup} s warm-up.`,
  );
  out.push('');
  out.push(
    '| central store | series | samples/s ingested | CPU (% of one core) | RSS (MiB) | disk now (MiB) | disk per million samples ingested (MiB) | compacted bytes per sample |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of stores)
    out.push(
      `| ${s.name} | ${fmt(s.series)} | ${fmt(s.rate)} | ${fmt(s.cpu, 1)} | ${fmt(s.rss, 1)} | ${mib(s.disk)} | ${fmt(s.disk / 1048576 / (s.total / 1e6), 2)} | ${fmt(s.compacted, 2)} |`,
    );
  out.push('');
  out.push(
    `Expected ingestion: ${fmt(expected)} samples/s of scraped series (${CFG.hosts} × ${seriesPerHost} / ${CFG.interval} s) plus 5 series per target that the agent adds. "Disk per million samples" is everything under the store's data folder at the end (Prometheus: write-ahead log, head chunks and blocks; VictoriaMetrics: parts and index) over every sample ingested since it started: what a young store uses. "Compacted bytes per sample" is what long retention costs: ${stores.map((s) => `${s.name}: ${s.compactedNote}`).join('; ')}.`,
  );
  out.push('');
  out.push(
    '| agent | agents × hosts | RSS per agent (MiB) | RSS per host (MiB) | CPU per agent (% of one core) | CPU per host (% of one core) | scrapes in the window (failed) |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of agentRows)
    out.push(
      `| ${r.name} | ${r.agents} × ${r.hosts / r.agents} | ${fmt(r.rssAgent, 1)} | ${fmt(r.rssHost, 2)} | ${fmt(r.cpuAgent, 2)} | ${fmt(r.cpuHost, 2)} | ${fmt(r.scrapes.done)} (${fmt(r.scrapes.failed)}) |`,
    );
  out.push('');
  const [pa, va] = agentRows;
  out.push(
    `**Agent choice**, from this run: vmagent used ${fmt(pa.rssAgent / va.rssAgent, 1)}× less memory (${fmt(va.rssAgent, 1)} against ${fmt(pa.rssAgent, 1)} MiB per agent) and ${fmt(pa.cpuAgent / va.cpuAgent, 1)}× less CPU than Prometheus in agent mode for the same scrapes and the same remote_write.`,
  );
  out.push('');
  out.push(
    `CPU is the process's utime+stime over the window (/proc/PID/stat); RSS is VmRSS at the end of the window. "Per host" divides an agent's figures by the hosts it scrapes: most of an agent's RSS is its fixed cost, so a site of one host pays the per-agent figure. At the shipped 15 s interval an agent does 1/${15 / CFG.interval} of this scraping and sending work.`,
  );
  return `${out.join('\n')}\n`;
}

const limit = setTimeout(() => {
  console.error(`bench:central: still running after ${HARD_LIMIT_MS / 1000}s, stopping`);
  process.exitCode = 2;
  cleanup().then(() => process.exit(2));
}, HARD_LIMIT_MS);
limit.unref();

let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await Promise.all([...children.values()].map(stop));
  rmSync(dir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => cleanup().then(() => process.exit(130)));

try {
  await main();
} catch (err) {
  console.error(err.stack ?? err.message);
  process.exitCode = 2;
} finally {
  await cleanup();
  process.exit();
}
