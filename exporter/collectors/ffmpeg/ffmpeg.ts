import { compileUserRegex, type TextPattern } from '../../../config/user-regex.js';
import { Snapshot, type Collector, type CollectorDeps } from '../../collector.js';
import { scanProcesses, type ProcessInfo } from '../../sources/processes.js';
import { DEFAULT_FFMPEG_BINARY } from './config.js';
import { cpuSeconds, expectedProcesses, FAMILIES, processes } from './metrics.js';

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
  readonly families = FAMILIES;

  private readonly procfs: string;
  private readonly binary: TextPattern;
  private readonly groups: Group[];

  constructor(deps: CollectorDeps) {
    const cfg = deps.config.collectors.ffmpeg;
    this.procfs = deps.config.paths.procfs;
    this.binary = compileUserRegex(cfg.binary, DEFAULT_FFMPEG_BINARY);
    this.groups = cfg.groups.map((g) => ({
      name: g.name,
      match: compileUserRegex(g.match),
      expected: g.expected,
    }));
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    signal.throwIfAborted();
    const procs = await scanProcesses(this.procfs, this.binary, signal);
    signal.throwIfAborted();
    const snap = new Snapshot();
    const counts = countGroups(procs, this.groups);
    for (const c of counts) snap.add(processes, { group: c.group }, c.processes);
    for (const c of counts) snap.add(expectedProcesses, { group: c.group }, c.expected);
    for (const c of counts) snap.add(cpuSeconds, { group: c.group }, c.cpuSeconds);
    return snap;
  }
}
