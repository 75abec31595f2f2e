import { join } from 'node:path';
import type { Logger } from '../../../internal/log.js';
import { Snapshot, sourceOnThisSystem, type Collector, type CollectorDeps } from '../../collector.js';
import {
  CPU_MODES,
  parseLoadavg,
  parseMeminfo,
  parseProcStat,
  parseUptime,
  readLoadavg,
  readMeminfo,
  readStat,
  readUptime,
  type CpuTimes,
  type CpuMode,
  type Loadavg,
  type Meminfo,
} from '../../sources/procfs.js';
import { readLinuxOsInfo, type OsInfo } from '../../sources/os-release.js';
import * as m from './metrics.js';
import { FAMILIES } from './metrics.js';

/** What one run read, parsed: from procfs on Linux, through systeminformation elsewhere. */
export interface HostSample {
  cpus: number;
  /** Seconds in each mode since boot, summed over all CPUs; a mode the source lacks is 0. */
  cpuTimes: CpuTimes;
  /** The modes the source has: all of CPU_MODES from procfs. */
  modes: readonly CpuMode[];
  bootTimeSeconds: number;
  meminfo: Meminfo;
  /** Absent where the system has no load average (Windows). */
  loadavg?: Loadavg;
  uptimeSeconds: number;
  os: OsInfo;
}

export type HostSource = 'procfs' | 'systeminformation';

/**
 * Host CPU, memory, swap, load and uptime from procfs (/proc/stat, /proc/meminfo,
 * /proc/loadavg, /proc/uptime), as node_exporter's cpu, meminfo, loadavg and stat
 * collectors do, and what the host runs (os-release under rootfs, uname) as
 * node_exporter's os collector. Where there is no /proc (`source: systeminformation`, the
 * default off Linux) the same families come from systeminformation and Node's os module
 * (portable.ts), without the Linux-only CPU modes.
 */
export class HostCollector implements Collector {
  readonly name = 'host';
  readonly families = FAMILIES;

  private readonly source: HostSource;
  private readonly procfs: string;
  private readonly rootfs: string;
  private readonly log: Logger;
  /** CPU times as last served; only an accepted run replaces them. */
  private previous: CpuTimes | undefined;

  constructor({ config, log }: CollectorDeps) {
    this.source = sourceOnThisSystem(config.collectors.host.source, 'procfs');
    this.procfs = config.paths.procfs;
    this.rootfs = config.paths.rootfs;
    this.log = log.child({ collector: this.name });
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    signal.throwIfAborted();
    if (this.source === 'systeminformation') {
      const { readPortableHost } = await import('./portable.js');
      return this.snapshot(await readPortableHost(signal));
    }
    const procfs = this.procfs;
    const [stat, meminfo, loadavg, uptime, os] = await Promise.all([
      readStat(procfs, signal),
      readMeminfo(procfs, signal),
      readLoadavg(procfs, signal),
      readUptime(procfs, signal),
      readLinuxOsInfo(this.rootfs, signal),
    ]);
    signal.throwIfAborted();
    const parsed = parseProcStat(stat, join(procfs, 'stat'));
    const sample: HostSample = {
      cpus: parsed.cpus,
      cpuTimes: parsed.total,
      modes: CPU_MODES,
      bootTimeSeconds: parsed.bootTimeSeconds,
      meminfo: parseMeminfo(meminfo, join(procfs, 'meminfo')),
      loadavg: parseLoadavg(loadavg, join(procfs, 'loadavg')),
      uptimeSeconds: parseUptime(uptime, join(procfs, 'uptime')),
      os,
    };
    return this.snapshot(sample);
  }

  private snapshot(sample: HostSample): Snapshot {
    const previous = this.previous;
    const cpu = previous ? this.monotonic(previous, sample.cpuTimes) : sample.cpuTimes;
    const snap = new Snapshot();
    for (const mode of sample.modes) snap.add(m.cpuSeconds, { mode }, cpu[mode]);
    const ratio = previous ? usageRatio(previous, cpu) : undefined;
    if (ratio !== undefined) snap.add(m.cpuUsage, {}, ratio);
    snap.add(m.cpus, {}, sample.cpus);
    snap.add(m.memTotal, {}, sample.meminfo.memTotalBytes);
    snap.add(m.memAvailable, {}, sample.meminfo.memAvailableBytes);
    snap.add(m.swapTotal, {}, sample.meminfo.swapTotalBytes);
    snap.add(m.swapFree, {}, sample.meminfo.swapFreeBytes);
    if (sample.loadavg) {
      snap.add(m.load1, {}, sample.loadavg.load1);
      snap.add(m.load5, {}, sample.loadavg.load5);
      snap.add(m.load15, {}, sample.loadavg.load15);
    }
    snap.add(m.uptime, {}, sample.uptimeSeconds);
    snap.add(m.bootTime, {}, sample.bootTimeSeconds);
    const os = sample.os;
    snap.add(
      m.osInfo,
      {
        id: os.id,
        name: os.name,
        version_id: os.versionId,
        pretty_name: os.prettyName,
        kernel: os.kernel,
        arch: os.arch,
      },
      1,
    );
    return snap.onAccept(() => (this.previous = cpu));
  }

  /**
   * Keeps each mode from going backwards: iowait (and, on some kernels, idle) in
   * /proc/stat can decrease (man 5 proc), and a counter that drops reads to Prometheus
   * as a reset, so rate() would spike. node_exporter's cpu collector also clamps.
   */
  private monotonic(previous: CpuTimes, current: CpuTimes): CpuTimes {
    const out = { ...current };
    for (const mode of CPU_MODES) {
      if (current[mode] < previous[mode]) {
        this.log.debug('CPU time went backwards; keeping the previous value', {
          mode,
          previous: previous[mode],
          current: current[mode],
        });
        out[mode] = previous[mode];
      }
    }
    return out;
  }
}

/**
 * The non-idle share of the CPU time that passed between two samples, or undefined when
 * none passed. iowait counts as idle: the CPU was free to run something else.
 */
export function usageRatio(previous: CpuTimes, current: CpuTimes): number | undefined {
  let busy = 0;
  let idle = 0;
  for (const mode of CPU_MODES) {
    const delta = Math.max(0, current[mode] - previous[mode]);
    if (mode === 'idle' || mode === 'iowait') idle += delta;
    else busy += delta;
  }
  const total = busy + idle;
  return total > 0 ? busy / total : undefined;
}
