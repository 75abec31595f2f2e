import { compileUserRegex, type TextPattern } from '../../config/user-regex.js';
import { Gauge, Registry } from 'prom-client';
import type { ApplyResult, Collector } from '../collector.js';
import { scanProcesses, type ProcessInfo } from '../sources/processes.js';
import type { CollectorDeps } from './index.js';

/**
 * FFmpeg processes (camera mosaics, transcoders, RTMP workers) counted in named
 * groups, each matched by a regular expression on the full command line, so that
 * "the mosaic is down" is `watchpost_ffmpeg_processes < watchpost_ffmpeg_expected_processes`.
 * Reads procfs directly: no `ps`, nothing to install in the exporter's image.
 */

interface Group {
  name: string;
  match: TextPattern;
  expected: number;
}

export interface GroupCount {
  group: string;
  processes: number;
  cpuSeconds: number;
  expected: number;
}

/** Counts the processes of each group; a process may count in several groups. */
export function countGroups(processes: readonly ProcessInfo[], groups: readonly Group[]): GroupCount[] {
  return groups.map((g) => {
    let n = 0;
    let cpu = 0;
    for (const p of processes) {
      if (!g.match.test(p.argv.join(' '))) continue;
      n++;
      cpu += p.cpuSeconds ?? 0;
    }
    return { group: g.name, processes: n, cpuSeconds: cpu, expected: g.expected };
  });
}

export class FfmpegCollector implements Collector {
  readonly name = 'ffmpeg';
  readonly registry = new Registry();

  private readonly procfs: string;
  private readonly binary: TextPattern;
  private readonly groups: Group[];
  private readonly processes: Gauge<'group'>;
  private readonly expected: Gauge<'group'>;
  private readonly cpu: Gauge<'group'>;

  constructor(deps: CollectorDeps) {
    const cfg = deps.config.collectors.ffmpeg;
    this.procfs = deps.config.paths.procfs;
    this.binary = compileUserRegex(cfg.binary);
    this.groups = cfg.groups.map((g) => ({
      name: g.name,
      match: compileUserRegex(g.match),
      expected: g.expected,
    }));
    const gauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ['group'], registers: [this.registry] });
    this.processes = gauge(
      'watchpost_ffmpeg_processes',
      'Number of running FFmpeg processes whose command line matches the group.',
    );
    this.expected = gauge(
      'watchpost_ffmpeg_expected_processes',
      'Number of FFmpeg processes the watchpost configuration expects in the group.',
    );
    // A gauge, not a counter: it is a sum over the processes running now, and drops
    // when one of them exits. rate() on it is wrong across such drops; deriv() or the
    // per-process view of a cgroup is the right tool for long windows.
    this.cpu = gauge(
      'watchpost_ffmpeg_cpu_seconds',
      'Sum of the CPU time (user + system) in seconds used so far by the running processes of the group; drops when one exits.',
    );
  }

  async collect(signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    const procs = await scanProcesses(this.procfs, this.binary, signal);
    signal.throwIfAborted();
    const counts = countGroups(procs, this.groups);
    return () => this.apply(counts);
  }

  /** The only place metrics are written: synchronous, so a late run cannot interleave. */
  private apply(counts: GroupCount[]): void {
    this.processes.reset();
    this.expected.reset();
    this.cpu.reset();
    for (const c of counts) {
      const labels = { group: c.group };
      this.processes.set(labels, c.processes);
      this.expected.set(labels, c.expected);
      this.cpu.set(labels, c.cpuSeconds);
    }
  }
}
