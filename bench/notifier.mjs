#!/usr/bin/env node
// Notifier benchmark: acknowledgement latency of POST /alerts (the outbox fdatasync'd before
// every 2xx) and deliveries per second to a local fake Slack, against two references measured
// in the same run: the same POST to a plain node:http server that answers 200 doing nothing
// (the floor), and the raw cost of one append + fdatasync on this disk.
//
//   npm run bench:notifier        # = npm run build && node bench/notifier.mjs
//
// Knobs (environment):
//   BENCH_REQUESTS=2000          sequential POSTs per server (one keep-alive connection)
//   BENCH_CONCURRENCY=16         concurrent keep-alive clients
//   BENCH_SECONDS=10             concurrent run: at most this long …
//   BENCH_CONCURRENT_MAX=20000   … or this many POSTs, whichever comes first
//   BENCH_DELIVERIES=5000        notifications enqueued before the delivery run
//   BENCH_FSYNCS=2000            appends + fdatasync in the raw disk reference
//   BENCH_WARMUP=200             warm-up POSTs per server (not counted)
//   BENCH_RESULTS=path           where to write the results (default bench/RESULTS.md)
//   BENCH_ENFORCE=1              exit 3 when a target is missed
//   BENCH_NOTIFIER_NODE_ARGS=…   extra node options for the notifier (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
//   BENCH_NOTIFIER_STDOUT=file   keep the notifier's stdout (e.g. with BENCH_NOTIFIER_NODE_ARGS=--trace-gc)
//
// Everything listens on 127.0.0.1; the notifier is `node dist/cli/main.js notifier` in a
// temporary folder (its state_dir is there too, on the same disk as the fsync reference),
// stopped by PID at the end, also on error.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection as writeResultsSection } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const num = (name, def) => {
  const v = process.env[name];
  return v === undefined || v === '' ? def : Number(v);
};
const CFG = {
  requests: num('BENCH_REQUESTS', 2000),
  concurrency: num('BENCH_CONCURRENCY', 16),
  seconds: num('BENCH_SECONDS', 10),
  concurrentMax: num('BENCH_CONCURRENT_MAX', 20000),
  deliveries: num('BENCH_DELIVERIES', 5000),
  fsyncs: num('BENCH_FSYNCS', 2000),
  warmup: num('BENCH_WARMUP', 200),
  results: process.env.BENCH_RESULTS || join(HERE, 'RESULTS.md'),
  enforce: process.env.BENCH_ENFORCE === '1',
};
const TARGET = { ackP99Ms: 10, deliveriesPerSecond: 500, rssMiB: 150 };
const SECTION = '## Notifier: acknowledgement and delivery';
const TOKEN = 'bench-token-0123456789abcdef0123456789';
const SLACK_PATH = '/services/T000/B000/BENCHBENCHBENCH';

const children = [];
const servers = [];
let workDir;
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers) {
    s.closeAllConnections?.();
    s.close();
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

// --- helpers ---------------------------------------------------------------------------

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const pct = (xs, p) => {
  const s = sorted(xs);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const int = (x) => Math.round(x).toLocaleString('en-US');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An Alertmanager v4 webhook body (≈1.3 KB), unique per n so the dedupe never answers "duplicate". */
function payload(n) {
  const labels = {
    alertname: 'BenchAlert',
    severity: 'warning',
    instance: 'host1:9850',
    job: 'watchpost',
    mountpoint: '/srv',
    bench_id: String(n),
  };
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="BenchAlert", bench_id="${n}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'watchpost-notifier',
    groupLabels: { alertname: 'BenchAlert', bench_id: String(n) },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: {
          summary: 'Disk /srv is 93% full on host1',
          description:
            'Only 7 GiB left on /dev/sda1 mounted at /srv; at the current rate it fills in about 9 hours.',
          value: '93%',
          runbook_url: 'docs/runbooks/DiskSpaceLow.md',
          dashboard_url: 'd/watchpost-host?var-mountpoint=/srv',
        },
        startsAt: '2026-11-22T03:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example:9090/graph?g0.expr=x',
        fingerprint: `bench${n}`,
      },
    ],
  });
}

let seq = 0;
/** One POST; resolves to [ms from send to the last body byte, status]. */
function post(agent, port, path, body) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve([Number(process.hrtime.bigint() - start) / 1e6, res.statusCode]));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sequential POSTs on one keep-alive connection. */
async function sequential(port, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const lat = [];
  let bad = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const [ms, status] = await post(agent, port, '/alerts', payload(seq++));
    if (status !== 200) bad++;
    lat.push(ms);
  }
  const wall = (performance.now() - t0) / 1000;
  agent.destroy();
  return { lat, bad, wall, count };
}

/** CONCURRENCY keep-alive clients, bounded by count and time. */
async function concurrent(port) {
  const agent = new Agent({ keepAlive: true, maxSockets: CFG.concurrency });
  const lat = [];
  let bad = 0;
  let issued = 0;
  const end = performance.now() + CFG.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CFG.concurrency }, async () => {
      while (issued < CFG.concurrentMax && performance.now() < end) {
        issued++;
        const [ms, status] = await post(agent, port, '/alerts', payload(seq++));
        if (status !== 200) bad++;
        lat.push(ms);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  agent.destroy();
  return { lat, bad, wall, count: lat.length };
}

/** The floor: a node:http server that reads the body and answers 200 {}. */
async function startFloor() {
  const s = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () =>
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"accepted"}'),
    );
  });
  servers.push(s);
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return s.address().port;
}

/** A fake Slack answering 200 "ok" at once; `hold()` makes it keep requests until `release()`. */
async function startSlack() {
  let held = null;
  const state = { delivered: 0, requests: 0, lastAt: 0 };
  const answer = (res) => {
    state.delivered++;
    state.lastAt = performance.now();
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
  };
  const s = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      state.requests++;
      if (req.url !== SLACK_PATH) return void res.writeHead(404).end('no_service');
      if (held) held.push(res);
      else answer(res);
    });
  });
  servers.push(s);
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${s.address().port}${SLACK_PATH}`,
    state,
    hold: () => (held = []),
    release: () => {
      const h = held ?? [];
      held = null;
      for (const res of h) answer(res);
    },
  };
}

/** Raw disk reference: append a record of the outbox's size and fdatasync (and fsync), as outbox.ts does. */
function fsyncReference(dir, recordBytes) {
  const file = join(dir, 'fsync-reference.jsonl');
  const fd = openSync(file, 'a', 0o600);
  const rec = Buffer.from('x'.repeat(recordBytes - 1) + '\n');
  const measure = (sync) => {
    const lat = [];
    for (let i = 0; i < CFG.fsyncs; i++) {
      const t = process.hrtime.bigint();
      writeSync(fd, rec);
      sync(fd);
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return lat;
  };
  measure(fdatasyncSync).length = 0; // warm-up: file allocated, journal busy
  const data = measure(fdatasyncSync);
  const full = measure(fsyncSync);
  closeSync(fd);
  return { data, full };
}

/** One sample of the notifier's /metrics, by exact series name (with its labels). */
function metric(port, name) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/metrics', headers: { Authorization: `Bearer ${TOKEN}` } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          const line = text.split('\n').find((l) => l.startsWith(`${name} `));
          resolve(line ? Number(line.slice(name.length + 1)) : NaN);
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
}

function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { ticks: Number(fields[11]) + Number(fields[12]), rssMiB: rss ? Number(rss[1]) / 1024 : NaN };
  } catch {
    return { ticks: NaN, rssMiB: NaN };
  }
}

async function startNotifier(dir, slackUrl) {
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  writeFileSync(join(dir, 'slack'), slackUrl);
  const config = join(dir, 'watchpost.yml');
  writeFileSync(
    config,
    [
      'notifier:',
      '  listen: 127.0.0.1:0',
      '  bearer_token_file: token',
      '  state_dir: state',
      '  outbox_max_entries: 1000000',
      '  channels:',
      '    - name: slack',
      '      type: slack',
      '      slack: { webhook_url_file: slack }',
      '',
    ].join('\n'),
  );
  // Log level info, as in production: one line per delivery is part of the cost.
  const proc = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_NOTIFIER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      join(ROOT, 'dist', 'cli', 'main.js'),
      'notifier',
      '--config',
      config,
    ],
    {
      cwd: dir,
      // BENCH_NOTIFIER_STDOUT=file keeps what node prints on stdout (--trace-gc) for a look afterwards.
      stdio: [
        'ignore',
        process.env.BENCH_NOTIFIER_STDOUT ? openSync(process.env.BENCH_NOTIFIER_STDOUT, 'w') : 'ignore',
        'pipe',
      ],
    },
  );
  children.push(proc);
  let head = '';
  proc.stderr.on('data', (d) => {
    if (head.length < 100_000) head += d.toString();
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`notifier exited ${proc.exitCode}:\n${head}`);
    const m = /msg="notifier listening" address=\S*:(\d+)/.exec(head);
    if (m) return { proc, port: Number(m[1]), stderr: () => head };
    if (Date.now() > deadline) throw new Error(`notifier not listening after 20 s:\n${head}`);
    await sleep(20);
  }
}

const writeSection = (section) => writeResultsSection(CFG.results, SECTION, section);

// --- main ------------------------------------------------------------------------------

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    console.error('dist/ is missing: run `npm run build` first (npm run bench:notifier does).');
    process.exit(2);
  }
  workDir = mkdtempSync(join(tmpdir(), 'watchpost-bench-notifier-'));
  const log = (s) => process.stderr.write(`${s}\n`);
  // The machine's load, said in the results: on a shared machine the figures move with it.
  const loadStart = loadavg();

  const recordBytes = Buffer.byteLength(payload(0)) + 150; // the enq record wraps the parsed payload
  log(`fsync reference: ${CFG.fsyncs} × (append ${recordBytes} B + fdatasync), then + fsync`);
  const disk = fsyncReference(workDir, recordBytes);

  const floorPort = await startFloor();
  const slack = await startSlack();
  const n = await startNotifier(workDir, slack.url);
  log(`notifier pid ${n.proc.pid} on 127.0.0.1:${n.port}; floor on 127.0.0.1:${floorPort}`);
  const rssStart = procStat(n.proc.pid).rssMiB;

  // Warm-up both (not counted), then each measurement runs the floor first, then the notifier.
  await sequential(floorPort, CFG.warmup);
  await sequential(n.port, CFG.warmup);
  await waitDrained(n.port, 30_000);

  log(`sequential: ${CFG.requests} POSTs each`);
  const seqFloor = await sequential(floorPort, CFG.requests);
  const cpu0 = procStat(n.proc.pid);
  const seqWp = await sequential(n.port, CFG.requests);
  const cpu1 = procStat(n.proc.pid);
  await waitDrained(n.port, 60_000);

  log(`concurrent: ${CFG.concurrency} clients, ≤ ${CFG.concurrentMax} POSTs or ${CFG.seconds} s each`);
  const conFloor = await concurrent(floorPort);
  const cpu2 = procStat(n.proc.pid);
  const conWp = await concurrent(n.port);
  const cpu3 = procStat(n.proc.pid);
  const backlogAfterConcurrent = await metric(n.port, 'watchpost_notifier_outbox_depth');
  const drainStart = performance.now();
  await waitDrained(n.port, 300_000);
  const drainSeconds = (performance.now() - drainStart) / 1000;

  log(`delivery: hold Slack, enqueue ${CFG.deliveries}, release, time until all delivered`);
  slack.hold();
  const before = slack.state.delivered;
  const enq = await sequential(n.port, CFG.deliveries);
  // The worker is blocked on one held request; everything else waits in the outbox.
  const depth = await metric(n.port, 'watchpost_notifier_outbox_depth');
  const cpu4 = procStat(n.proc.pid);
  const t0 = performance.now();
  slack.release();
  const deadline = Date.now() + 300_000;
  while (slack.state.delivered - before < CFG.deliveries) {
    if (Date.now() > deadline)
      throw new Error(`only ${slack.state.delivered - before} delivered after 300 s`);
    await sleep(5);
  }
  const deliverSeconds = (slack.state.lastAt - t0) / 1000;
  await waitDrained(n.port, 30_000);
  const cpu5 = procStat(n.proc.pid);
  const deliveredMetric = await metric(
    n.port,
    'watchpost_notifier_notifications_total{channel="slack",result="delivered"}',
  );
  const deliveriesPerSecond = CFG.deliveries / deliverSeconds;

  n.proc.kill('SIGTERM');
  const code = await new Promise((r) => {
    const t = setTimeout(() => r('timeout'), 10_000);
    n.proc.once('exit', (c, s) => {
      clearTimeout(t);
      r(c ?? s);
    });
  });

  const bad = seqWp.bad + conWp.bad + enq.bad;
  if (bad > 0) throw new Error(`${bad} POSTs to the notifier were not answered 200:\n${n.stderr()}`);

  const ackP99 = pct(seqWp.lat, 99);
  const ackP99Con = pct(conWp.lat, 99);
  const pass = {
    ack: ackP99 <= TARGET.ackP99Ms,
    deliveries: deliveriesPerSecond >= TARGET.deliveriesPerSecond,
    rss: cpu5.rssMiB <= TARGET.rssMiB,
  };
  const verdict = pass.ack && pass.deliveries && pass.rss ? 'PASS' : 'FAIL';
  const ms1000 = (a, b, count) => ((b.ticks - a.ticks) * 10 * 1000) / count;

  const machine = {
    nproc: cpus().length,
    model: (cpus()[0]?.model ?? '?').replace(/\s+/g, ' ').trim(),
    kernel: spawnSync('uname', ['-sr'], { encoding: 'utf8' }).stdout.trim(),
    fs: spawnSync('df', ['--output=fstype,source', workDir], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .pop()
      .trim()
      .replace(/\s+/, ' on '),
    wp: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
  };
  const row = (label, a, b) => `| ${label} | ${a} | ${b} |`;
  const latRows = (a, b) =>
    [
      row('p50 (ms)', f(pct(a.lat, 50)), f(pct(b.lat, 50))),
      row('p90 (ms)', f(pct(a.lat, 90)), f(pct(b.lat, 90))),
      row('p99 (ms)', f(pct(a.lat, 99)), f(pct(b.lat, 99))),
      row('max (ms)', f(Math.max(...a.lat)), f(Math.max(...b.lat))),
      row('requests / s', int(a.count / a.wall), int(b.count / b.wall)),
      row('requests / wall s', `${int(a.count)} / ${f(a.wall, 1)}`, `${int(b.count)} / ${f(b.wall, 1)}`),
    ].join('\n');

  const section = `${SECTION}

Date: ${new Date().toISOString()}. Machine: ${machine.nproc} CPUs (nproc), ${machine.model}, ${machine.kernel}; outbox and fsync reference on ${machine.fs} (the temporary folder); Node.js ${process.version}; watchpost ${machine.wp}. Load average (1, 5, 15 min) at the start ${loadStart.map((x) => x.toFixed(2)).join(', ')}, at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')}.

Reproduce: \`npm run bench:notifier\` (settings: BENCH_REQUESTS=${CFG.requests}, BENCH_CONCURRENCY=${CFG.concurrency}, BENCH_SECONDS=${CFG.seconds}, BENCH_CONCURRENT_MAX=${CFG.concurrentMax}, BENCH_DELIVERIES=${CFG.deliveries}, BENCH_FSYNCS=${CFG.fsyncs}, BENCH_WARMUP=${CFG.warmup}). The notifier is \`node dist/cli/main.js notifier\` on a free 127.0.0.1 port with one Slack channel pointing at a fake Slack on 127.0.0.1 that answers 200 "ok" at once, log level info (one line per delivery, as in production); every POST is a distinct ${Buffer.byteLength(payload(0))}-byte Alertmanager v4 body with the bearer token. Latency is client side (request sent → last byte of the answer) over keep-alive connections.

**Targets**: sequential acknowledgement p99 ${f(ackP99)} ms (target ≤ ${TARGET.ackP99Ms} ms: **${pass.ack ? 'PASS' : 'FAIL'}**), delivery ${int(deliveriesPerSecond)} notifications/s (target ≥ ${TARGET.deliveriesPerSecond}/s: **${pass.deliveries ? 'PASS' : 'FAIL'}**), RSS at the end ${f(cpu5.rssMiB, 1)} MiB (target ≤ ${TARGET.rssMiB} MiB: **${pass.rss ? 'PASS' : 'FAIL'}**). Overall: **${verdict}**. (With ${CFG.concurrency} concurrent clients, not a target of the issue: acknowledgement p99 ${f(ackP99Con)} ms, ${ackP99Con <= TARGET.ackP99Ms ? 'within' : 'above'} the ${TARGET.ackP99Ms} ms of the sequential target.)

| sequential POST /alerts (1 keep-alive client) | floor: node:http answering 200 | watchpost notifier |
| --- | --- | --- |
${latRows(seqFloor, seqWp)}
| notifier CPU ms / 1000 POSTs |  | ${f(ms1000(cpu0, cpu1, seqWp.count), 1)} |

| concurrent POST /alerts (${CFG.concurrency} keep-alive clients) | floor: node:http answering 200 | watchpost notifier |
| --- | --- | --- |
${latRows(conFloor, conWp)}
| notifier CPU ms / 1000 POSTs |  | ${f(ms1000(cpu2, cpu3, conWp.count), 1)} |

In both runs the delivery worker sends each accepted notification to the fake Slack at the same time (and appends its "done" record, without an fdatasync of its own: the next acknowledgement's syncs it), as in production; after the concurrent run ${int(backlogAfterConcurrent)} notifications were still waiting and were delivered in ${f(drainSeconds, 1)} s.

| delivery (one Slack channel, fake Slack answering 200 at once) | watchpost notifier |
| --- | --- |
| notifications waiting when Slack was released (outbox depth) | ${int(depth)} |
| delivered | ${int(CFG.deliveries)} in ${f(deliverSeconds, 2)} s |
| deliveries / s | ${int(deliveriesPerSecond)} |
| notifier CPU ms / delivery | ${f(((cpu5.ticks - cpu4.ticks) * 10) / CFG.deliveries, 3)} |
| RSS at the end (MiB) | ${f(cpu5.rssMiB, 1)} |
| RSS after start, the sequential run, the concurrent run (MiB) | ${f(rssStart, 1)}, ${f(cpu1.rssMiB, 1)}, ${f(cpu3.rssMiB, 1)} |

The ${int(CFG.deliveries)} notifications were posted (sequentially, ${f(enq.wall, 1)} s) while the fake Slack held the worker's first request; the clock starts when it is released and stops at the fake Slack's ${int(CFG.deliveries)}th 200. The notifier counted ${int(deliveredMetric)} deliveries in all (every run above); graceful stop exit: ${code}.

| raw disk reference (same folder, one ${recordBytes}-byte append each) | p50 (ms) | p99 (ms) | max (ms) |
| --- | --- | --- | --- |
| write + fdatasync (what the outbox does) | ${f(pct(disk.data, 50))} | ${f(pct(disk.data, 99))} | ${f(Math.max(...disk.data))} |
| write + fsync | ${f(pct(disk.full, 50))} | ${f(pct(disk.full, 99))} | ${f(Math.max(...disk.full))} |

An acknowledgement costs one fdatasync'd append at least; the difference between the notifier and the floor beyond it is parsing, validation, hashing and routing, plus the delivery worker's own appends competing for the disk and the event loop.
`;
  const path = writeSection(section);
  console.log(section);
  log(`wrote ${path}`);
  return verdict;
}

/** Waits until the notifier's outbox is empty. */
async function waitDrained(port, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await metric(port, 'watchpost_notifier_outbox_depth')) === 0) return;
    if (Date.now() > deadline) throw new Error(`outbox not drained after ${ms} ms`);
    await sleep(20);
  }
}

main().then(
  (verdict) => {
    cleanup();
    process.exit(verdict === 'FAIL' && CFG.enforce ? 3 : 0);
  },
  (err) => {
    process.stderr.write(`bench/notifier.mjs: ${err.stack ?? err}\n`);
    cleanup();
    process.exit(2);
  },
);
