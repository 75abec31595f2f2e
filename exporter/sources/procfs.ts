import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileErrorReason } from '../../internal/fs-errors.js';

/**
 * Source adapter for Linux procfs: readers that return the raw text of a file under
 * the procfs root (`paths.procfs`, /proc by default, /host/proc in a container), and
 * pure parsers, tested on files captured from a real kernel (fixtures/).
 *
 * Every parser throws an Error naming the file when the text is not what the kernel
 * writes, so a wrong `paths.procfs` is reported instead of exported as zeros.
 */

/**
 * The unit of the times in /proc/stat. The kernel scales them to USER_HZ, which is 100
 * on every Linux architecture whatever CONFIG_HZ is (man 5 proc; sysconf(_SC_CLK_TCK)).
 */
export const USER_HZ = 100;

/**
 * The modes of the `cpu` line that partition CPU time. `guest` and `guest_nice` (the
 * 9th and 10th fields) are left out: the kernel already counts them in user and nice.
 */
export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
export type CpuMode = (typeof CPU_MODES)[number];
/** Seconds spent in each mode since boot, summed over all CPUs. */
export type CpuTimes = Record<CpuMode, number>;

export interface ProcStat {
  /** Number of `cpuN` lines: the online CPUs. */
  cpus: number;
  total: CpuTimes;
  /** The `btime` line: boot time as a Unix timestamp in seconds. */
  bootTimeSeconds: number;
}

export interface Meminfo {
  memTotalBytes: number;
  memAvailableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
}

/**
 * Reads `<procfs>/<name>` as text. Rejects with a message naming the file.
 *
 * Read synchronously: a /proc file is generated in memory by the kernel as it is read, and
 * never waits on a device. fs/promises' readFile sends open, fstat, read and close through
 * libuv's thread pool, each a thread hand-off and an event-loop wake-up: measured on this
 * project's 2-CPU test machine, ~0.5 ms of CPU per file that way against ~0.08 ms here,
 * which made file reads most of the CPU an unscraped exporter used (bench/RESULTS.md).
 */
export async function readProcFile(procfs: string, name: string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  return readProcFileSync(join(procfs, name));
}

/** Reads a /proc or /sys file synchronously (see readProcFile); the error names the file. */
export function readProcFileSync(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file} ${fileErrorReason(err)}`, { cause: err });
  }
}

export const readStat = (procfs: string, signal?: AbortSignal) => readProcFile(procfs, 'stat', signal);
export const readMeminfo = (procfs: string, signal?: AbortSignal) => readProcFile(procfs, 'meminfo', signal);
export const readLoadavg = (procfs: string, signal?: AbortSignal) => readProcFile(procfs, 'loadavg', signal);
export const readUptime = (procfs: string, signal?: AbortSignal) => readProcFile(procfs, 'uptime', signal);

const UNSIGNED = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;

/** Parses /proc/stat. `file` only names the file in error messages. */
export function parseProcStat(text: string, file = '/proc/stat'): ProcStat {
  let total: CpuTimes | undefined;
  let cpus = 0;
  let bootTimeSeconds: number | undefined;
  for (const line of text.split('\n')) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (key === 'cpu') {
      // Kernels before 2.6 lack iowait/irq/softirq, before 2.6.11 steal: those count as 0.
      if (values.length < 4 || !values.every((v) => UNSIGNED.test(v))) {
        throw new Error(
          `${file}: expected at least 4 counters on the "cpu" line, got ${JSON.stringify(line.trim())}`,
        );
      }
      const times = {} as CpuTimes;
      CPU_MODES.forEach((mode, i) => (times[mode] = Number(values[i] ?? 0) / USER_HZ));
      total = times;
    } else if (key !== undefined && /^cpu\d+$/.test(key)) {
      cpus++;
    } else if (key === 'btime') {
      if (values.length !== 1 || !UNSIGNED.test(values[0]!)) {
        throw new Error(
          `${file}: expected a Unix time on the "btime" line, got ${JSON.stringify(line.trim())}`,
        );
      }
      bootTimeSeconds = Number(values[0]);
    }
  }
  if (total === undefined) throw new Error(`${file}: no "cpu" line (is this a Linux procfs?)`);
  if (cpus === 0) throw new Error(`${file}: no per-CPU "cpuN" lines`);
  if (bootTimeSeconds === undefined) throw new Error(`${file}: no "btime" line`);
  return { cpus, total, bootTimeSeconds };
}

/** Parses /proc/meminfo. `file` only names the file in error messages. */
export function parseMeminfo(text: string, file = '/proc/meminfo'): Meminfo {
  const kB = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+) kB$/.exec(line.trim());
    if (m) kB.set(m[1]!, Number(m[2]));
  }
  const bytes = (key: string): number => {
    const value = kB.get(key);
    if (value === undefined) throw new Error(`${file}: no "${key}:" line in kB (is this a Linux procfs?)`);
    return value * 1024;
  };
  const memTotalBytes = bytes('MemTotal');
  // MemAvailable appeared in Linux 3.14. Before it, free(1) reported MemFree + Buffers +
  // Cached as the memory usable without swapping: the same estimate here.
  const memAvailableBytes = kB.has('MemAvailable')
    ? bytes('MemAvailable')
    : bytes('MemFree') + bytes('Buffers') + bytes('Cached');
  return {
    memTotalBytes,
    memAvailableBytes,
    swapTotalBytes: bytes('SwapTotal'),
    swapFreeBytes: bytes('SwapFree'),
  };
}

/** Parses /proc/loadavg ("0.01 0.04 0.01 1/84 3655"). */
export function parseLoadavg(text: string, file = '/proc/loadavg'): Loadavg {
  const fields = text.trim().split(/\s+/);
  const [a, b, c, tasks] = fields;
  if (fields.length !== 5 || ![a, b, c].every((v) => DECIMAL.test(v!)) || !/^\d+\/\d+$/.test(tasks!)) {
    throw new Error(
      `${file}: expected "load1 load5 load15 running/total lastpid", got ${JSON.stringify(snippet(text))}`,
    );
  }
  return { load1: Number(a), load5: Number(b), load15: Number(c) };
}

/** Parses /proc/uptime ("1044.47 2033.40"): seconds since boot. */
export function parseUptime(text: string, file = '/proc/uptime'): number {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2 || !fields.every((v) => DECIMAL.test(v))) {
    throw new Error(`${file}: expected "uptime idle" in seconds, got ${JSON.stringify(snippet(text))}`);
  }
  return Number(fields[0]);
}

/** The start of a bad file, enough to recognise it in an error message. */
function snippet(text: string): string {
  const t = text.trim();
  return t.length > 60 ? `${t.slice(0, 60)}…` : t;
}
