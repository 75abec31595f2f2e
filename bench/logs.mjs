#!/usr/bin/env node
// Logs benchmark: watchpost's log follower + sshd matcher + counting against Debian's
// mtail, on the same generated auth log, in the same run. See bench/README.md.
//
//   npm run bench:logs            (= npm run build && node bench/logs.mjs)
//
// Settings (environment):
//   BENCH_LINES=2000000      lines of the generated auth log
//   BENCH_IPS=2000           distinct client addresses
//   BENCH_FAILURE_RATIO=0.3  share of "Failed password" lines
//   BENCH_SEED=42            seed of the generator (deterministic)
//   BENCH_RUNS=3             runs per program (alternating order); medians are reported
//   BENCH_RESULTS=path       where to write the results (default bench/RESULTS.md)
//   BENCH_ENFORCE=1          exit 3 when a target is missed (0 otherwise)
//   MTAIL=/usr/bin/mtail     the reference program
//   BENCH_DEBUG=1            the watchpost child prints its memory use to stderr
//   BENCH_E2E_LINES=1000000  lines of the end-to-end log (through a running exporter)
//   BENCH_E2E_IPS=100000     distinct client addresses in it
//   BENCH_E2E_RUNS=3         end-to-end runs per program (0 skips the end-to-end part)
//   BENCH_E2E_WRITE_BYTES=65536  the end-to-end log is appended in writes of this size (the
//                            target's figure); each run also appends it in one write
//   BENCH_ONLY_E2E=1         run only the end-to-end part
//   BENCH_CPU_PROF=DIR       the end-to-end exporter writes a V8 CPU profile into DIR
//
// Each program runs in its own process under /usr/bin/time -v (user + system CPU, peak
// RSS = maximum resident set size, as the kernel's VmHWM). Both must count the same
// number of failures, and the same count for every client address, as the generator
// wrote: otherwise the benchmark fails (exit 2) without writing results.
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { env, writeSection as writeResultsSection } from './common.mjs';
import { REGEX_FAILURE } from './logs-child.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
/** watchpost's side of the in-process runs, in a process of its own (bench/logs-child.mjs). */
const CHILD = join(HERE, 'logs-child.mjs');
const SECTION = '## Logs: watchpost vs mtail';
const E2E_SECTION = '## Logs: end to end, through a running exporter, vs mtail';
const REGEX_SECTION = '## Logs: format regex, linear-time engine (RE2JS) vs RegExp';
const TARGET = { speed: 5, rss: 3 };

const CFG = {
  lines: env('BENCH_LINES', 2_000_000),
  ips: env('BENCH_IPS', 2000),
  failureRatio: env('BENCH_FAILURE_RATIO', 0.3),
  seed: env('BENCH_SEED', 42),
  runs: env('BENCH_RUNS', 3),
  results: process.env.BENCH_RESULTS || join(HERE, 'RESULTS.md'),
  mtail: process.env.MTAIL || '/usr/bin/mtail',
  e2eLines: env('BENCH_E2E_LINES', 1_000_000),
  e2eIps: env('BENCH_E2E_IPS', 100_000),
  e2eRuns: env('BENCH_E2E_RUNS', 3),
  e2eWriteBytes: env('BENCH_E2E_WRITE_BYTES', 65536),
  onlyE2e: process.env.BENCH_ONLY_E2E === '1',
};

// ---------------------------------------------------------------------------------------
// The generated auth log.

/** mulberry32: a small deterministic PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function generate(path, { lines = CFG.lines, ipCount = CFG.ips } = {}) {
  const rand = rng(CFG.seed);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const ips = Array.from(
    { length: ipCount },
    (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 0}`,
  );
  const users = ['root', 'admin', 'ubuntu', 'deploy', 'git', 'test', 'oracle', 'postgres', 'user', 'pi'];
  const hosts = ['web1', 'web2', 'db1'];
  const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
  const expected = new Map();
  let failures = 0;
  const out = createWriteStream(path);
  let buf = [];
  const flush = async () => {
    if (!out.write(buf.join(''))) await new Promise((r) => out.once('drain', r));
    buf = [];
  };
  for (let i = 0; i < lines; i++) {
    const sec = Math.floor(i / 50);
    const stamp = `${months[10]} 22 ${String(Math.floor(sec / 3600) % 24).padStart(2, '0')}:${String(Math.floor(sec / 60) % 60).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}`;
    const head = `${stamp} ${pick(hosts)} sshd[${1000 + Math.floor(rand() * 60000)}]: `;
    const ip = pick(ips);
    const port = 1024 + Math.floor(rand() * 64000);
    let msg;
    if (rand() < CFG.failureRatio) {
      const invalid = rand() < 0.4 ? 'invalid user ' : '';
      msg = `Failed password for ${invalid}${pick(users)} from ${ip} port ${port} ssh2`;
      failures++;
      expected.set(ip, (expected.get(ip) ?? 0) + 1);
    } else {
      const r = rand();
      if (r < 0.15)
        msg = `Accepted publickey for ${pick(users)} from ${ip} port ${port} ssh2: ED25519 SHA256:k3Jd8sQm0aP1xYv7Lr2Zt9Wc4Bn6Hf5Ge8Ui0Oy1Tq`;
      else if (r < 0.35)
        msg = `Connection closed by authenticating user ${pick(users)} ${ip} port ${port} [preauth]`;
      else if (r < 0.55) msg = `Received disconnect from ${ip} port ${port}:11: Bye Bye [preauth]`;
      else if (r < 0.7) msg = `Disconnected from invalid user ${pick(users)} ${ip} port ${port} [preauth]`;
      else if (r < 0.85)
        msg = `pam_unix(sshd:session): session opened for user ${pick(users)}(uid=1000) by (uid=0)`;
      else msg = `Connection reset by ${ip} port ${port} [preauth]`;
    }
    buf.push(`${head}${msg}\n`);
    if (buf.length >= 10_000) await flush();
  }
  await flush();
  await new Promise((r) => out.end(r));
  return { failures, expected };
}

// ---------------------------------------------------------------------------------------
// Running one program under /usr/bin/time -v.

function timed(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('/usr/bin/time', ['-v', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    const out = [];
    let err = '';
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const field = (name) => {
        const m = new RegExp(`${name}: ([0-9.]+)`).exec(err);
        return m ? Number(m[1]) : NaN;
      };
      const res = {
        code,
        wall,
        stdout: Buffer.concat(out).toString(),
        stderr: err,
        cpu: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
        rssKiB: field('Maximum resident set size \\(kbytes\\)'),
      };
      if (code !== 0) reject(new Error(`${cmd} exited with ${code}:\n${err.slice(-2000)}`));
      else resolve(res);
    });
  });
}

const MTAIL_PROGRAM = `# Counts sshd's "Failed password" lines by client address, as watchpost's sshd format does.
counter watchpost_bench_auth_failures_total by client

/Failed password for (invalid user )?\\S+ from (?P<client>[0-9A-Fa-f.:]+) port / {
  watchpost_bench_auth_failures_total[$client]++
}
`;

function parseMtail(text) {
  const clients = {};
  let failures = 0;
  for (const line of text.split('\n')) {
    const m = /^watchpost_bench_auth_failures_total\{client="([^"]+)"[^}]*\} ([0-9.e+]+)$/.exec(line);
    if (!m) continue;
    clients[m[1]] = Number(m[2]);
    failures += Number(m[2]);
  }
  return { failures, clients };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const int = (x) => Math.round(x).toLocaleString('en-US');

const writeSection = (section) => writeResultsSection(CFG.results, SECTION, section);

function writeMtailProgram(dir) {
  const progs = join(dir, 'progs');
  mkdirSync(progs, { recursive: true });
  writeFileSync(join(progs, 'auth.mtail'), MTAIL_PROGRAM);
  return progs;
}

function mtailOneShot(progs, log, cwd) {
  return timed(
    CFG.mtail,
    ['--one_shot', '--one_shot_format', 'prometheus', '--progs', progs, '--logs', log, '--logtostderr'],
    { cwd },
  );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpGet(port, path) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The value of one sample of a /metrics text, or undefined. */
function sample(text, series) {
  const at = text.indexOf(`\n${series} `);
  if (at === -1) return undefined;
  const end = text.indexOf('\n', at + 1);
  return Number(text.slice(at + series.length + 2, end === -1 ? undefined : end));
}

/**
 * Appends `content` to `path` in writes of `writeBytes` one after another (one write when
 * 0), as a logging daemon writes a busy log through its output buffer.
 */
function appendLog(path, content, writeBytes) {
  if (writeBytes <= 0) {
    appendFileSync(path, content);
    return;
  }
  const fd = openSync(path, 'a');
  try {
    for (let at = 0; at < content.length;) {
      const n = writeSync(fd, content, at, Math.min(writeBytes, content.length - at));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * One end-to-end run of watchpost: `watchpost exporter` (the built CLI) follows an empty
 * auth.log; the generated log is appended to it (in writes of `writeBytes`, or one write
 * when 0); the clock runs from the start of the first write until
 * watchpost_log_lines_total on /metrics shows every line.
 */
async function watchpostEndToEnd(dir, run, content, lines, writeBytes) {
  const runDir = join(dir, `e2e-${run}-${writeBytes}`);
  mkdirSync(runDir, { recursive: true });
  const log = join(runDir, 'auth.log');
  writeFileSync(log, '');
  const port = await freePort();
  const config = join(runDir, 'watchpost.yml');
  writeFileSync(
    config,
    [
      'exporter:',
      `  listen: 127.0.0.1:${port}`,
      'collectors:',
      '  host: { enabled: false }',
      '  disk: { enabled: false }',
      '  containers: { enabled: false }',
      '  logs:',
      `    interval: ${E2E_INTERVAL}`,
      `    timeout: ${E2E_INTERVAL}`,
      '    sources:',
      `      - { name: auth, file: ${JSON.stringify(log)}, format: sshd }`,
      '',
    ].join('\n'),
  );
  // BENCH_CPU_PROF=DIR: the exporter writes a V8 CPU profile of the run there (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const args = [...prof, join(ROOT, 'dist', 'cli', 'main.js'), 'exporter', '-c', config];
  const child = spawn(process.execPath, args, {
    cwd: runDir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d.toString()).slice(-8192)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const readyBy = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`watchpost exporter exited:\n${stderr}`);
      const ok = await httpGet(port, '/-/ready').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > readyBy) throw new Error(`watchpost exporter not ready within 60 s:\n${stderr}`);
      await sleep(100);
    }
    const rssIdleMiB = procRssMiB(child.pid);
    const cpu0 = procCpuSeconds(child.pid);
    const t0 = process.hrtime.bigint();
    appendLog(log, content, writeBytes);
    const writtenAt = Number(process.hrtime.bigint() - t0) / 1e9;
    const deadline = Date.now() + 600_000;
    let text = '';
    let seen = 0;
    let scrapes = 0;
    for (;;) {
      text = (await httpGet(port, '/metrics')).body;
      scrapes++;
      seen = sample(text, 'watchpost_log_lines_total{source="auth"}') ?? 0;
      if (seen >= lines) break;
      if (Date.now() > deadline) throw new Error(`watchpost showed ${seen} of ${lines} lines after 600 s`);
      await sleep(E2E_POLL_MS);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = procCpuSeconds(child.pid) - cpu0;
    const rssMiB = procRssMiB(child.pid);
    return {
      seconds,
      writtenAt,
      cpu,
      rssMiB,
      rssIdleMiB,
      scrapes,
      lines: seen,
      failures: sample(text, 'watchpost_auth_attempts_total{source="auth",result="failure"}'),
      evicted: sample(text, 'watchpost_auth_clients_evicted_total{source="auth"}'),
    };
  } finally {
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  }
}

const TICK_S = 1 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
function procCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * TICK_S;
}
function procRssMiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The logs collector's interval in the end-to-end runs: how often /metrics can show new counts. */
const E2E_INTERVAL = '1s';
/** How often the bench scrapes watchpost's /metrics while it waits. */
const E2E_POLL_MS = 50;

/** The end-to-end comparison (its own section of RESULTS.md). */
async function endToEnd(dir) {
  const e2eDir = join(dir, 'e2e');
  mkdirSync(e2eDir, { recursive: true });
  const source = join(e2eDir, 'generated.log');
  process.stderr.write(
    `end to end: generating ${int(CFG.e2eLines)} lines from ${int(CFG.e2eIps)} clients...\n`,
  );
  const truth = await generate(source, { lines: CFG.e2eLines, ipCount: CFG.e2eIps });
  const content = readFileSync(source);
  // What the exporter must show: the sshd matcher's own count on these lines (it also counts
  // pre-authentication disconnects of invalid users as failures, which the mtail program does not).
  const { matchSshd } = await import(
    pathToFileURL(join(ROOT, 'dist', 'exporter', 'sources', 'log-formats.js')).href
  );
  let matcherFailures = 0;
  for (const line of content.toString('utf8').split('\n')) {
    const m = line === '' ? undefined : matchSshd(line);
    if (m?.auth === 'failure') matcherFailures += m.count ?? 1;
  }
  const progs = writeMtailProgram(e2eDir);
  // watchpost: the log appended in writes of e2eWriteBytes (the target's figure); oneWrite:
  // the same exporter with the log appended in one write.
  const runs = { watchpost: [], oneWrite: [], mtail: [] };
  const label = { watchpost: 'watchpost (appends)', oneWrite: 'watchpost (one write)', mtail: 'mtail' };
  const order = [];
  for (let r = 0; r < CFG.e2eRuns; r++) {
    const seq = r % 2 === 0 ? ['watchpost', 'oneWrite', 'mtail'] : ['mtail', 'oneWrite', 'watchpost'];
    order.push(seq.map((who) => label[who]).join(' → '));
    for (const who of seq) {
      process.stderr.write(`end to end run ${r + 1}: ${label[who]}...\n`);
      if (who !== 'mtail') {
        const writeBytes = who === 'watchpost' ? CFG.e2eWriteBytes : 0;
        const res = await watchpostEndToEnd(e2eDir, r, content, CFG.e2eLines, writeBytes);
        if (res.lines !== CFG.e2eLines || res.failures !== matcherFailures) {
          console.error(
            `FAIL: watchpost showed ${res.lines} lines and ${res.failures} failures; the log has ${CFG.e2eLines}, and the sshd matcher finds ${matcherFailures} failures in it`,
          );
          process.exit(2);
        }
        runs[who].push(res);
      } else {
        const res = await mtailOneShot(progs, source, e2eDir);
        const got = parseMtail(res.stdout);
        if (got.failures !== truth.failures || Object.keys(got.clients).length !== truth.expected.size) {
          console.error(
            `FAIL: mtail counted ${got.failures} failures from ${Object.keys(got.clients).length} clients; the log has ${truth.failures} from ${truth.expected.size}`,
          );
          process.exit(2);
        }
        runs.mtail.push({ seconds: res.wall, cpu: res.cpu, rssMiB: res.rssKiB / 1024 });
      }
    }
  }
  const m = (who, key) => median(runs[who].map((x) => x[key]));
  const lps = (who) => CFG.e2eLines / m(who, 'seconds');
  const ratio = lps('watchpost') / lps('mtail');
  const ratioOne = lps('oneWrite') / lps('mtail');
  const pass = ratio >= TARGET.speed;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const kib = `${f(CFG.e2eWriteBytes / 1024, 0)} KiB`;
  const mib = `${f(content.length / 2 ** 20, 1)} MiB`;
  const row = (name, key, digits, scale = 1) =>
    `| ${name} | ${['watchpost', 'oneWrite', 'mtail'].map((who) => f(m(who, key) * scale, digits)).join(' | ')} | ${f(m('watchpost', key) / m('mtail', key), 3)} |`;
  const section = `${E2E_SECTION}

Date: ${new Date().toISOString()}. Load average when it ended (1, 5, 15 min): ${load}, on ${cpus().length} CPUs. Node.js ${process.version}.

Reproduce: \`npm run bench:logs\` (settings: BENCH_E2E_LINES=${CFG.e2eLines}, BENCH_E2E_IPS=${CFG.e2eIps}, BENCH_E2E_RUNS=${CFG.e2eRuns}, BENCH_E2E_WRITE_BYTES=${CFG.e2eWriteBytes}, BENCH_SEED=${CFG.seed}, BENCH_FAILURE_RATIO=${CFG.failureRatio}; \`BENCH_ONLY_E2E=1\` runs only this part). The input is a generated sshd auth log of ${int(CFG.e2eLines)} lines (${mib}), ${int(truth.failures)} of them \`Failed password\` from ${int(truth.expected.size)} distinct addresses.

- **watchpost**: the product as deployed: \`node dist/cli/main.js exporter -c watchpost.yml\` following an empty \`auth.log\` (format sshd, default \`max_clients\` 1000, so the ${int(truth.expected.size)} addresses go through the LRU's evictions; the logs collector's \`interval: ${E2E_INTERVAL}\`, the other collectors off). Once \`/-/ready\` answers, the log is appended to the file as a logging daemon writes a busy log: in writes of ${kib}, one after another as fast as the benchmark can make them (rsyslog writes a file through a buffer of \`ioBufferSize\`, 4 KiB by default, 64 KiB the largest its documentation suggests). The clock runs from the start of the first write until \`watchpost_log_lines_total{source="auth"}\` on \`/metrics\` (scraped every ${E2E_POLL_MS} ms) reaches ${int(CFG.e2eLines)}; \`watchpost_auth_attempts_total{result="failure"}\` must then equal what the sshd matcher finds in the file (${int(matcherFailures)}: the ${int(truth.failures)} \`Failed password\` lines and the pre-authentication disconnects it also counts).
- **watchpost, one write**: the same, with the log appended in a single write(2) of ${mib}. Linux tells a watch of a write only when the write returns, so the exporter learns of the new data once all of it is written (or at its next 250 ms poll): the time of the write itself (${f(m('oneWrite', 'writtenAt'), 3)} s, median) is spent before it can start, and is counted in its time.
- **mtail**: \`mtail --one_shot --one_shot_format prometheus --progs DIR --logs FILE\` on the same file, already written, the program of the section below (a counter of \`Failed password\` lines by client), from spawn to exit under \`/usr/bin/time -v\`; it must count every failure and every one of the ${int(truth.expected.size)} addresses.

**Target**: watchpost lines/s ÷ mtail lines/s, end to end, the log appended in ${kib} writes = ${f(ratio, 2)} (target ≥ ${TARGET.speed}: **${pass ? 'PASS' : 'FAIL'}**). With the log appended in one write: ${f(ratioOne, 2)}.

| median of ${CFG.e2eRuns} runs | watchpost (${kib} writes) | watchpost (one write) | mtail (one shot) | watchpost (${kib} writes)/mtail |
| --- | --- | --- | --- | --- |
| lines/s | ${int(lps('watchpost'))} | ${int(lps('oneWrite'))} | ${int(lps('mtail'))} | ${f(ratio, 2)} |
${row('seconds to the full count', 'seconds', 3)}
${row('CPU s (user + system)', 'cpu', 2)}
| RSS (MiB; watchpost: VmRSS at the end, mtail: peak) | ${f(m('watchpost', 'rssMiB'), 1)} | ${f(m('oneWrite', 'rssMiB'), 1)} | ${f(m('mtail', 'rssMiB'), 1)} |  |
| watchpost RSS before the append (MiB, VmRSS) | ${f(m('watchpost', 'rssIdleMiB'), 1)} | ${f(m('oneWrite', 'rssIdleMiB'), 1)} |  |  |
| time the append took (s) | ${f(m('watchpost', 'writtenAt'), 3)} | ${f(m('oneWrite', 'writtenAt'), 3)} |  |  |

watchpost's CPU is the exporter process's over the measured window (its collector runs and the ${E2E_POLL_MS} ms scrapes included). mtail is given the whole file before its clock starts, watchpost none of it, and mtail's time includes its own start (0.03 to 0.04 s to load and compile its program, measured on an empty log), watchpost's does not (the exporter is running and ready). The follower is woken by a watch on the file (fs.watch) rather than its 250 ms poll, reads it in 512 KiB chunks through two shared buffers (the next chunk is read while the lines of one are handled), decodes 64 KiB at a time (only the lines the sshd prefilter lets through become strings) and keeps no line once counted (the rise between the two RSS rows is the V8 heap grown for the garbage of a million lines, not the file); when it has caught up after a MiB or more, the logs collector asks for a run at once, and the runner starts it without its coalescing wait, so neither the collector's ${E2E_INTERVAL} interval nor the one-second refresh gap is waited for. Run order: ${order.map((o, i) => `run ${i + 1} ${o}`).join('; ')}.

| run | program | seconds | lines/s | CPU s | RSS MiB |
| --- | --- | --- | --- | --- | --- |
${runs.watchpost
  .map((_, i) =>
    ['watchpost', 'oneWrite', 'mtail']
      .map((who) => {
        const x = runs[who][i];
        const name =
          who === 'mtail'
            ? 'mtail'
            : who === 'watchpost'
              ? `watchpost, ${kib} writes`
              : 'watchpost, one write';
        return `| ${i + 1} | ${name} | ${f(x.seconds, 3)} | ${int(CFG.e2eLines / x.seconds)} | ${f(x.cpu, 2)} | ${f(x.rssMiB, 1)} |`;
      })
      .join('\n'),
  )
  .join('\n')}
`;
  const path = writeResultsSection(CFG.results, E2E_SECTION, section);
  console.log(section);
  console.log(`wrote ${path}`);
  if (!pass && process.env.BENCH_ENFORCE === '1') process.exitCode = 3;
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'exporter', 'collectors', 'logs', 'logs.js'))) {
    console.error('dist/ is missing: run `npm run bench:logs` (it builds first)');
    process.exit(2);
  }
  if (!existsSync(CFG.mtail)) {
    console.error(`${CFG.mtail} not found: run scripts/install-system-deps.sh (Debian package mtail)`);
    process.exit(2);
  }
  if (!existsSync('/usr/bin/time')) {
    console.error('/usr/bin/time not found (Debian package time)');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-bench-logs-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    if (CFG.e2eRuns > 0) await endToEnd(dir);
    if (CFG.onlyE2e) return;
    const log = join(dir, 'auth.log');
    process.stderr.write(`generating ${int(CFG.lines)} lines...\n`);
    const truth = await generate(log);
    const bytes = statSync(log).size;
    const progs = writeMtailProgram(dir);

    const runs = { watchpost: [], mtail: [] };
    const results = { watchpost: undefined, mtail: undefined };
    const order = [];
    for (let r = 0; r < CFG.runs; r++) {
      const seq = r % 2 === 0 ? ['watchpost', 'mtail'] : ['mtail', 'watchpost'];
      order.push(seq.join(' → '));
      for (const who of seq) {
        process.stderr.write(`run ${r + 1}: ${who}...\n`);
        if (who === 'watchpost') {
          const res = await timed(process.execPath, [CHILD, log]);
          const body = JSON.parse(res.stdout);
          runs.watchpost.push(res);
          results.watchpost = body;
        } else {
          const res = await mtailOneShot(progs, log, dir);
          runs.mtail.push(res);
          results.mtail = parseMtail(res.stdout);
        }
      }
    }

    // Each must agree, in total and per address, with what it is asked to count: mtail's
    // program the `Failed password` lines generated; watchpost the sshd matcher applied to
    // each line of the file in turn, without the follower, the splitter or the LRU (it also
    // counts pre-authentication disconnects of a connection with no failure logged).
    const { sshdMatcher } = await import(
      pathToFileURL(join(ROOT, 'dist', 'exporter', 'sources', 'log-formats.js')).href
    );
    const byLine = { failures: 0, expected: new Map() };
    const matcher = sshdMatcher();
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const r = line === '' ? undefined : matcher(line);
      if (r?.auth !== 'failure') continue;
      byLine.failures += r.count ?? 1;
      if (r.client !== undefined)
        byLine.expected.set(r.client, (byLine.expected.get(r.client) ?? 0) + (r.count ?? 1));
    }
    const want = { watchpost: byLine, mtail: truth };
    const problems = [];
    for (const who of ['watchpost', 'mtail']) {
      const got = results[who];
      const { failures, expected } = want[who];
      if (got.failures !== failures)
        problems.push(`${who} counted ${got.failures} failures, it should have ${failures}`);
      if (Object.keys(got.clients).length !== expected.size)
        problems.push(
          `${who} has ${Object.keys(got.clients).length} clients, it should have ${expected.size}`,
        );
      for (const [ip, n] of expected) {
        if (got.clients[ip] !== n) {
          problems.push(`${who}: ${ip} counted ${got.clients[ip]}, it should have ${n}`);
          break;
        }
      }
    }
    if (results.watchpost.lines !== CFG.lines)
      problems.push(`watchpost read ${results.watchpost.lines} lines, the log has ${CFG.lines}`);
    if (problems.length > 0) {
      console.error(`FAIL: the counts disagree:\n  ${problems.join('\n  ')}`);
      process.exit(2);
    }
    const sample = [...truth.expected.keys()]
      .slice(0, 3)
      .map((ip) => `${ip}: ${truth.expected.get(ip)} and ${byLine.expected.get(ip)}`);

    const m = (who, key) => median(runs[who].map((x) => x[key]));
    const w = {
      wall: m('watchpost', 'wall'),
      cpu: m('watchpost', 'cpu'),
      rss: m('watchpost', 'rssKiB') / 1024,
    };
    const t = { wall: m('mtail', 'wall'), cpu: m('mtail', 'cpu'), rss: m('mtail', 'rssKiB') / 1024 };
    const lps = (x) => CFG.lines / x.wall;
    const speed = lps(w) / lps(t);
    const rssRatio = w.rss / t.rss;
    const pass = { speed: speed >= TARGET.speed, rss: rssRatio <= TARGET.rss };
    const verdict = pass.speed && pass.rss ? 'PASS' : 'FAIL';
    const inner = median(runs.watchpost.map((x) => JSON.parse(x.stdout).innerSeconds));

    const machine = {
      nproc: cpus().length,
      model: (cpus()[0]?.model ?? '?').replace(/\s+/g, ' ').trim(),
      kernel: spawnSync('uname', ['-sr'], { encoding: 'utf8' }).stdout.trim(),
      mtail: spawnSync(CFG.mtail, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim(),
      wp: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    };
    const section = `${SECTION}

Date: ${new Date().toISOString()}. Machine: ${machine.nproc} CPUs (nproc), ${machine.model}, ${machine.kernel}; Node.js ${process.version}; ${machine.mtail}; watchpost ${machine.wp}.

Reproduce: \`npm run bench:logs\` (settings: BENCH_LINES=${CFG.lines}, BENCH_IPS=${CFG.ips}, BENCH_FAILURE_RATIO=${CFG.failureRatio}, BENCH_SEED=${CFG.seed}, BENCH_RUNS=${CFG.runs}). The input is a generated sshd auth log of ${int(CFG.lines)} lines (${f(bytes / 1024 / 1024, 1)} MiB), ${int(truth.failures)} of them \`Failed password\` from ${CFG.ips} distinct addresses. watchpost: a child process reading the file with the log follower (\`FileFollower\` from the start: 512 KiB reads, each read while the previous chunk is handled, the byte-level keyword prefilter) into the sshd matcher and the per-source counters (\`SourceCounts\`, max_clients above ${CFG.ips} so every count can be compared). mtail: \`mtail --one_shot --one_shot_format prometheus --progs DIR --logs FILE\` with a program counting \`Failed password\` lines by client. Each under \`/usr/bin/time -v\`.

**Targets**: watchpost lines/s ÷ mtail lines/s = ${f(speed, 2)} (target ≥ ${TARGET.speed}: **${pass.speed ? 'PASS' : 'FAIL'}**), peak RSS watchpost ÷ mtail = ${f(rssRatio, 2)} (target ≤ ${TARGET.rss}: **${pass.rss ? 'PASS' : 'FAIL'}**). Overall: **${verdict}**.

mtail counted the ${int(truth.failures)} \`Failed password\` lines generated; watchpost counted ${int(byLine.failures)} failures, what the sshd matcher finds applied to each line in turn (the same lines, and the pre-authentication disconnects of connections with no failure logged, which OpenSSH writes for a key-only scanner); each with the same count per address as its reference, for all ${CFG.ips} addresses (e.g. mtail and watchpost: ${sample.join(', ')}). The two programs count different things, so the figures below compare the work of reading the same log.

| median of ${CFG.runs} runs | watchpost | mtail | watchpost/mtail |
| --- | --- | --- | --- |
| lines/s (process wall time) | ${int(lps(w))} | ${int(lps(t))} | ${f(speed, 2)} |
| wall time (s, whole process) | ${f(w.wall, 3)} | ${f(t.wall, 3)} | ${f(w.wall / t.wall, 3)} |
| CPU time (s, user + system) | ${f(w.cpu, 2)} | ${f(t.cpu, 2)} | ${f(w.cpu / t.cpu, 3)} |
| lines per CPU second | ${int(CFG.lines / w.cpu)} | ${int(CFG.lines / t.cpu)} | ${f(t.cpu / w.cpu, 2)} |
| peak RSS (MiB, VmHWM) | ${f(w.rss, 1)} | ${f(t.rss, 1)} | ${f(rssRatio, 2)} |

Peak RSS includes the pages of each program's binary that were touched: for Node.js about 35–41 MiB of the ~95 MiB \`node\` executable, shared with every other Node.js process, against mtail's static Go binary. Wall time is from spawn to exit, so it includes each program's start (Node.js and the module imports; mtail's program compile); watchpost's own read-and-count time inside the process was ${f(inner, 3)} s (median). Run order: ${order.map((o, i) => `run ${i + 1} ${o}`).join('; ')}.

| run | program | wall s | CPU s | peak RSS MiB |
| --- | --- | --- | --- | --- |
${runs.watchpost
  .map((_, i) =>
    ['watchpost', 'mtail']
      .map(
        (who) =>
          `| ${i + 1} | ${who} | ${f(runs[who][i].wall, 3)} | ${f(runs[who][i].cpu, 2)} | ${f(runs[who][i].rssKiB / 1024, 1)} |`,
      )
      .join('\n'),
  )
  .join('\n')}
`;
    const path = writeSection(section);
    console.log(section);
    console.log(`wrote ${path}`);

    // Format regex: the same log and pattern with each engine, alternating order.
    const rx = { re2: [], regexp: [] };
    for (let r = 0; r < CFG.runs; r++) {
      for (const kind of r % 2 === 0 ? ['re2', 'regexp'] : ['regexp', 're2']) {
        process.stderr.write(`regex run ${r + 1}: ${kind}...\n`);
        const res = await timed(process.execPath, [CHILD, log, kind]);
        const body = JSON.parse(res.stdout);
        if (body.failures !== truth.failures) {
          console.error(`FAIL: ${kind} counted ${body.failures} failures, the log has ${truth.failures}`);
          process.exit(2);
        }
        rx[kind].push({ ...res, inner: body.innerSeconds });
      }
    }
    const rm = (kind, key) => median(rx[kind].map((x) => x[key]));
    const rxRow = (kind) =>
      `| ${kind === 're2' ? 'RE2JS (watchpost)' : 'RegExp (before)'} | ${int(CFG.lines / rm(kind, 'inner'))} | ${f(rm(kind, 'inner'), 3)} | ${f(rm(kind, 'cpu'), 2)} | ${int(CFG.lines / rm(kind, 'cpu'))} | ${f(rm(kind, 'rssKiB') / 1024, 1)} |`;
    const regexSection = `${REGEX_SECTION}

Date: ${new Date().toISOString()}. The same generated log and settings as "Logs: watchpost vs mtail" (the run that wrote this section also rewrites that one); reproduce with \`npm run bench:logs\`. The log is read as above, but matched with format regex (no keyword prefilter: every line is matched) and the failure pattern \`${REGEX_FAILURE}\`, compiled with RE2JS (what watchpost runs: linear in the line, so no pattern can freeze the exporter) or with JavaScript's RegExp (the backtracking engine used before, against which a pattern such as \`^(\\w+\\s?)*: failed\` takes exponential time). Both counted ${int(truth.failures)} failures. Median of ${CFG.runs} runs each; lines/s over the time spent reading and matching inside the process.

| engine | lines/s | read + match s | CPU s (whole process) | lines per CPU second | peak RSS MiB |
| --- | --- | --- | --- | --- | --- |
${rxRow('re2')}
${rxRow('regexp')}

RE2JS ÷ RegExp: ${f(rm('regexp', 'inner') / rm('re2', 'inner'), 2)} in lines/s, ${f(rm('regexp', 'cpu') / rm('re2', 'cpu'), 2)} in lines per CPU second (CPU time is the steadier figure on a busy machine). That is the cost of the linear-time guarantee on this pattern; a line that does not match costs only the DFA's test, and the sshd, nginx and json formats above use no user pattern and are unaffected.
`;
    writeResultsSection(CFG.results, REGEX_SECTION, regexSection);
    console.log(regexSection);
    if (verdict === 'FAIL' && process.env.BENCH_ENFORCE === '1') process.exit(3);
  } finally {
    cleanup();
  }
}

await main();
