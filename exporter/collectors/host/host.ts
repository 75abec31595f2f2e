import { join } from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../../../internal/log.js';
import type { ApplyResult, RegistryCollector } from '../../collector.js';
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
  type Loadavg,
  type Meminfo,
  type ProcStat,
} from '../../sources/procfs.js';
import type { CollectorDeps } from '../../collector.js';

/** What one run read from procfs, parsed. */
interface HostSample {
  stat: ProcStat;
  meminfo: Meminfo;
  loadavg: Loadavg;
  uptimeSeconds: number;
}

/**
 * Host CPU, memory, swap, load and uptime from procfs (/proc/stat, /proc/meminfo,
 * /proc/loadavg, /proc/uptime), as node_exporter's cpu, meminfo, loadavg and stat
 * collectors do.
 */
export class HostCollector implements RegistryCollector {
  readonly name = 'host';
  readonly registry = new Registry();

  private readonly procfs: string;
  private readonly log: Logger;
  /** CPU times as last exported; only an applied run replaces them. */
  private previous: CpuTimes | undefined;

  private readonly cpuSeconds: Counter<'mode'>;
  private readonly cpuUsage: Gauge;
  private readonly cpus: Gauge;
  private readonly memTotal: Gauge;
  private readonly memAvailable: Gauge;
  private readonly swapTotal: Gauge;
  private readonly swapFree: Gauge;
  private readonly load1: Gauge;
  private readonly load5: Gauge;
  private readonly load15: Gauge;
  private readonly uptime: Gauge;
  private readonly bootTime: Gauge;

  constructor({ config, log }: CollectorDeps) {
    this.procfs = config.paths.procfs;
    this.log = log.child({ collector: this.name });
    const registers = [this.registry];
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });

    // A Counter, not a Gauge, so the TYPE line says counter; apply() sets its absolute
    // value with reset() + inc(), which prom-client allows (it forbids only negative inc).
    this.cpuSeconds = new Counter({
      name: 'watchpost_host_cpu_seconds_total',
      help: 'Seconds the CPUs spent in each mode since boot, summed over all CPUs.',
      labelNames: ['mode'],
      registers,
    });
    this.cpuUsage = gauge(
      'watchpost_host_cpu_usage_ratio',
      'Share of CPU time, over all CPUs, spent in modes other than idle and iowait between the last two collections, from 0 to 1; absent until the second collection.',
    );
    this.cpus = gauge('watchpost_host_cpus', 'Number of online CPUs.');
    this.memTotal = gauge('watchpost_host_memory_total_bytes', 'Total usable memory in bytes.');
    this.memAvailable = gauge(
      'watchpost_host_memory_available_bytes',
      'Memory available to start new programs without swapping, in bytes (MemAvailable, or MemFree + Buffers + Cached before Linux 3.14).',
    );
    this.swapTotal = gauge('watchpost_host_swap_total_bytes', 'Total swap space in bytes.');
    this.swapFree = gauge('watchpost_host_swap_free_bytes', 'Unused swap space in bytes.');
    this.load1 = gauge(
      'watchpost_host_load1',
      'Load average over the last minute (runnable and uninterruptible tasks).',
    );
    this.load5 = gauge(
      'watchpost_host_load5',
      'Load average over the last 5 minutes (runnable and uninterruptible tasks).',
    );
    this.load15 = gauge(
      'watchpost_host_load15',
      'Load average over the last 15 minutes (runnable and uninterruptible tasks).',
    );
    this.uptime = gauge('watchpost_host_uptime_seconds', 'Seconds since the host booted.');
    this.bootTime = gauge(
      'watchpost_host_boot_timestamp_seconds',
      'Time the host booted, as a Unix timestamp in seconds.',
    );
    // No sample until a second run can compare CPU times (prom-client starts it at 0).
    this.cpuUsage.remove();
  }

  async collect(signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    const procfs = this.procfs;
    const [stat, meminfo, loadavg, uptime] = await Promise.all([
      readStat(procfs, signal),
      readMeminfo(procfs, signal),
      readLoadavg(procfs, signal),
      readUptime(procfs, signal),
    ]);
    signal.throwIfAborted();
    const sample: HostSample = {
      stat: parseProcStat(stat, join(procfs, 'stat')),
      meminfo: parseMeminfo(meminfo, join(procfs, 'meminfo')),
      loadavg: parseLoadavg(loadavg, join(procfs, 'loadavg')),
      uptimeSeconds: parseUptime(uptime, join(procfs, 'uptime')),
    };
    return () => this.apply(sample);
  }

  private apply(sample: HostSample): void {
    const previous = this.previous;
    const cpu = previous ? this.monotonic(previous, sample.stat.total) : sample.stat.total;

    this.cpuSeconds.reset();
    for (const mode of CPU_MODES) this.cpuSeconds.inc({ mode }, cpu[mode]);
    const ratio = previous ? usageRatio(previous, cpu) : undefined;
    if (ratio === undefined) this.cpuUsage.remove();
    else this.cpuUsage.set(ratio);
    this.cpus.set(sample.stat.cpus);
    this.bootTime.set(sample.stat.bootTimeSeconds);

    this.memTotal.set(sample.meminfo.memTotalBytes);
    this.memAvailable.set(sample.meminfo.memAvailableBytes);
    this.swapTotal.set(sample.meminfo.swapTotalBytes);
    this.swapFree.set(sample.meminfo.swapFreeBytes);

    this.load1.set(sample.loadavg.load1);
    this.load5.set(sample.loadavg.load5);
    this.load15.set(sample.loadavg.load15);
    this.uptime.set(sample.uptimeSeconds);

    this.previous = cpu;
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
