import type { TextPattern } from '../../config/user-regex.js';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { USER_HZ } from './procfs.js';

/**
 * Source adapter for the process table, read from procfs directly
 * (`<procfs>/<pid>/cmdline` and `/stat`), with no `ps` subprocess. Pure parsers are
 * kept apart from the reads so they are testable on fixtures.
 *
 * A process can exit between listing <procfs> and reading its files: ENOENT and ESRCH
 * then mean "gone", not an error.
 */

export interface ProcessInfo {
  pid: number;
  argv: string[];
  /** utime + stime of the process, in seconds; undefined when its stat was gone. */
  cpuSeconds?: number;
}

/** Splits /proc/PID/cmdline: arguments end with NUL; kernel threads have none. */
export function parseCmdline(raw: string): string[] {
  if (raw === '') return [];
  const parts = raw.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * utime + stime (fields 14 and 15 of /proc/PID/stat, in USER_HZ ticks) as seconds.
 * Fields are counted after the last ')', since the command name in field 2 may hold
 * spaces and parentheses.
 */
export function parseProcessCpuSeconds(text: string, file = 'stat'): number {
  const close = text.lastIndexOf(')');
  const fields =
    close < 0
      ? []
      : text
          .slice(close + 1)
          .trim()
          .split(/\s+/);
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const utime = fields[11];
  const stime = fields[12];
  if (!utime || !stime || !/^\d+$/.test(utime) || !/^\d+$/.test(stime)) {
    throw new Error(`${file}: not a /proc/PID/stat line`);
  }
  return (Number(utime) + Number(stime)) / USER_HZ;
}

function gone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

async function readIfPresent(file: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return await readFile(file, { encoding: 'utf8', signal });
  } catch (err) {
    if (gone(err)) return undefined;
    throw err;
  }
}

/**
 * The processes under `procfs` whose argv[0] matches `binary`, with their CPU time.
 * Rejects when `procfs` itself cannot be listed, or a process file fails for another
 * reason than the process being gone.
 */
export async function scanProcesses(
  procfs: string,
  binary: TextPattern,
  signal?: AbortSignal,
): Promise<ProcessInfo[]> {
  let entries: string[];
  try {
    entries = await readdir(procfs);
  } catch (err) {
    throw new Error(`cannot list ${procfs}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`, {
      cause: err,
    });
  }
  const pids = entries.filter((e) => /^\d+$/.test(e));
  const out: ProcessInfo[] = [];
  // In batches: thousands of processes must not open thousands of files at once.
  const BATCH = 64;
  for (let i = 0; i < pids.length; i += BATCH) {
    signal?.throwIfAborted();
    const batch = await Promise.all(
      pids.slice(i, i + BATCH).map((p) => readProcess(procfs, p, binary, signal)),
    );
    for (const p of batch) if (p) out.push(p);
  }
  return out;
}

async function readProcess(
  procfs: string,
  pid: string,
  binary: TextPattern,
  signal?: AbortSignal,
): Promise<ProcessInfo | undefined> {
  const raw = await readIfPresent(join(procfs, pid, 'cmdline'), signal);
  if (raw === undefined) return undefined;
  const argv = parseCmdline(raw);
  if (argv.length === 0 || !binary.test(argv[0]!)) return undefined;
  const statFile = join(procfs, pid, 'stat');
  const stat = await readIfPresent(statFile, signal);
  return {
    pid: Number(pid),
    argv,
    cpuSeconds: stat === undefined ? undefined : parseProcessCpuSeconds(stat, statFile),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
