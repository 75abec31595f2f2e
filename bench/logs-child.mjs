#!/usr/bin/env node
// watchpost's side of bench/logs.mjs's in-process runs, in a process of its own:
//
//   node bench/logs-child.mjs FILE [sshd|re2|regexp]
//
// reads FILE from its start with the log follower into the matcher and the per-source
// counters (the code the logs collector runs) and prints the counts as JSON. It imports
// only what that needs, so its peak RSS is watchpost's, not the benchmark's (whose
// parent loads child_process, http and net).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The failure pattern of the regex runs: the mtail program's, as a watchpost format regex. */
export const REGEX_FAILURE =
  'Failed password for (?:invalid user )?\\S+ from (?<client>[0-9A-Fa-f.:]+) port ';

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

async function child(file, kind) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
  const { FileFollower } = await import(dist('exporter/sources/file-follower.js'));
  const { SourceCounts } = await import(dist('exporter/collectors/logs/log-counts.js'));
  const { matchSshd, regexMatcher } = await import(dist('exporter/sources/log-formats.js'));
  const size = statSync(file).size;
  // The matcher: sshd (the default), or format regex with the same pattern as the mtail
  // program, compiled with the linear-time engine watchpost uses (re2) or with RegExp, the
  // backtracking engine it used before (regexp), to measure what the safety costs.
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
  const clients = Object.fromEntries(counts.clients());
  process.stdout.write(
    JSON.stringify({ lines: counts.lines, failures: counts.authFailure, clients, innerSeconds: seconds }),
  );
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  await child(process.argv[2], process.argv[3] ?? 'sshd');
