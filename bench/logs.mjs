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
//
// Each program runs in its own process under /usr/bin/time -v (user + system CPU, peak
// RSS = maximum resident set size, as the kernel's VmHWM). Both must count the same
// number of failures, and the same count for every client address, as the generator
// wrote: otherwise the benchmark fails (exit 2) without writing results.
import { spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { env, writeSection as writeResultsSection } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const SECTION = '## Logs: watchpost vs mtail';
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
};

/** The failure pattern of the regex runs: the mtail program's, as a watchpost format regex. */
const REGEX_FAILURE = 'Failed password for (?:invalid user )?\\S+ from (?<client>[0-9A-Fa-f.:]+) port ';

/** regexMatcher as it was with JavaScript's RegExp, the reference of the regex runs. */
function nativeRegexMatcher(pattern) {
  const re = new RegExp(pattern);
  return (line) => {
    const m = re.exec(line);
    if (!m) return undefined;
    const client = m.groups?.client;
    return client ? { auth: 'failure', client } : { auth: 'failure' };
  };
}

// ---------------------------------------------------------------------------------------
// Child mode: watchpost's side, in its own process.
if (process.argv[2] === '--child') {
  const file = process.argv[3];
  const dist = (p) => pathToFileURL(join(ROOT, 'dist', p)).href;
  const { FileFollower } = await import(dist('exporter/sources/file-follower.js'));
  const { SourceCounts } = await import(dist('exporter/collectors/logs/log-counts.js'));
  const { matchSshd, regexMatcher } = await import(dist('exporter/sources/log-formats.js'));
  const size = statSync(file).size;
  // The matcher: sshd (the default), or format regex with the same pattern as the mtail
  // program, compiled with the linear-time engine watchpost uses (re2) or with RegExp, the
  // backtracking engine it used before (regexp), to measure what the safety costs.
  const kind = process.argv[4] ?? 'sshd';
  const matcher =
    kind === 're2'
      ? regexMatcher({ failure: REGEX_FAILURE })
      : kind === 'regexp'
        ? nativeRegexMatcher(REGEX_FAILURE)
        : matchSshd;
  const t0 = process.hrtime.bigint();
  // max_clients above the number of distinct addresses, so every per-client count can
  // be compared with mtail's (which keeps every label value).
  const counts = new SourceCounts(matcher, 1_000_000);
  let follower;
  // The follower's timers do not keep a process alive (the exporter's server does); this does.
  const keepAlive = setInterval(() => undefined, 1000);
  await new Promise((resolve) => {
    const events = counts.events((err) => {
      throw err;
    });
    const bytes = events.bytes;
    events.bytes = (n) => {
      bytes(n);
      if (counts.bytes >= size) resolve();
    };
    follower = new FileFollower(file, events, { maxLineBytes: 64 * 1024, fromStart: true, pollMs: 50 });
    follower.start();
  });
  await follower.close();
  clearInterval(keepAlive);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (process.env.BENCH_DEBUG) {
    const status = readFileSync('/proc/self/status', 'utf8').match(/^(VmHWM|RssAnon|RssFile):.*$/gm);
    process.stderr.write(`${JSON.stringify(process.memoryUsage())} ${status?.join(' ')}\n`);
  }
  const clients = Object.fromEntries([...counts.clients].map(([ip, e]) => [ip, e.count]));
  process.stdout.write(
    JSON.stringify({ lines: counts.lines, failures: counts.authFailure, clients, innerSeconds: seconds }),
  );
  process.exit(0);
}

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

async function generate(path) {
  const rand = rng(CFG.seed);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const ips = Array.from(
    { length: CFG.ips },
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
  for (let i = 0; i < CFG.lines; i++) {
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

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'exporter', 'collectors', 'logs.js'))) {
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
    const log = join(dir, 'auth.log');
    process.stderr.write(`generating ${int(CFG.lines)} lines...\n`);
    const truth = await generate(log);
    const bytes = statSync(log).size;
    const progs = join(dir, 'progs');
    spawnSync('mkdir', ['-p', progs]);
    writeFileSync(join(progs, 'auth.mtail'), MTAIL_PROGRAM);

    const runs = { watchpost: [], mtail: [] };
    const results = { watchpost: undefined, mtail: undefined };
    const order = [];
    for (let r = 0; r < CFG.runs; r++) {
      const seq = r % 2 === 0 ? ['watchpost', 'mtail'] : ['mtail', 'watchpost'];
      order.push(seq.join(' → '));
      for (const who of seq) {
        process.stderr.write(`run ${r + 1}: ${who}...\n`);
        if (who === 'watchpost') {
          const res = await timed(process.execPath, [fileURLToPath(import.meta.url), '--child', log]);
          const body = JSON.parse(res.stdout);
          runs.watchpost.push(res);
          results.watchpost = body;
        } else {
          const res = await timed(
            CFG.mtail,
            [
              '--one_shot',
              '--one_shot_format',
              'prometheus',
              '--progs',
              progs,
              '--logs',
              log,
              '--logtostderr',
            ],
            { cwd: dir },
          );
          runs.mtail.push(res);
          results.mtail = parseMtail(res.stdout);
        }
      }
    }

    // Both must agree with what was generated, in total and per address.
    const problems = [];
    for (const who of ['watchpost', 'mtail']) {
      const got = results[who];
      if (got.failures !== truth.failures)
        problems.push(`${who} counted ${got.failures} failures, the log has ${truth.failures}`);
      if (Object.keys(got.clients).length !== truth.expected.size)
        problems.push(
          `${who} has ${Object.keys(got.clients).length} clients, the log has ${truth.expected.size}`,
        );
      for (const [ip, n] of truth.expected) {
        if (got.clients[ip] !== n) {
          problems.push(`${who}: ${ip} counted ${got.clients[ip]}, the log has ${n}`);
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
    const sample = [...truth.expected.keys()].slice(0, 3).map((ip) => `${ip}: ${truth.expected.get(ip)}`);

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

Reproduce: \`npm run bench:logs\` (settings: BENCH_LINES=${CFG.lines}, BENCH_IPS=${CFG.ips}, BENCH_FAILURE_RATIO=${CFG.failureRatio}, BENCH_SEED=${CFG.seed}, BENCH_RUNS=${CFG.runs}). The input is a generated sshd auth log of ${int(CFG.lines)} lines (${f(bytes / 1024 / 1024, 1)} MiB), ${int(truth.failures)} of them \`Failed password\` from ${CFG.ips} distinct addresses. watchpost: a child process reading the file with the log follower (\`FileFollower\` from the start: 1 MiB reads, the byte-level keyword prefilter) into the sshd matcher and the per-source counters (\`SourceCounts\`, max_clients above ${CFG.ips} so every count can be compared). mtail: \`mtail --one_shot --one_shot_format prometheus --progs DIR --logs FILE\` with a program counting \`Failed password\` lines by client. Each under \`/usr/bin/time -v\`.

**Targets**: watchpost lines/s ÷ mtail lines/s = ${f(speed, 2)} (target ≥ ${TARGET.speed}: **${pass.speed ? 'PASS' : 'FAIL'}**), peak RSS watchpost ÷ mtail = ${f(rssRatio, 2)} (target ≤ ${TARGET.rss}: **${pass.rss ? 'PASS' : 'FAIL'}**). Overall: **${verdict}**.

Both counted ${int(truth.failures)} failures, the number generated, with the same count for each of the ${CFG.ips} addresses (e.g. ${sample.join(', ')}).

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
        const res = await timed(process.execPath, [fileURLToPath(import.meta.url), '--child', log, kind]);
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
