import os from 'node:os';
import type { CpuMode, CpuTimes, Loadavg } from '../../sources/procfs.js';
import { siMemory, siOsInfo } from '../../sources/systeminformation.js';
import type { HostSample } from './host.js';

/** The CPU modes Node's os.cpus() has on every system; iowait, softirq and steal are Linux's. */
export const PORTABLE_CPU_MODES: readonly CpuMode[] = ['user', 'nice', 'system', 'idle', 'irq'];

/**
 * The host's figures where there is no /proc (macOS, the BSDs, Windows): memory and swap and
 * the OS through systeminformation, CPU times, load and uptime from Node's os module (the
 * same calls systeminformation makes for them, without its sampling state). CPU times are
 * summed over all CPUs, in seconds, as /proc/stat's `cpu` line; the modes Node does not
 * know are 0 and not exported.
 */
export async function readPortableHost(signal: AbortSignal): Promise<HostSample> {
  signal.throwIfAborted();
  const [memory, osInfo] = await Promise.all([siMemory(), siOsInfo()]);
  signal.throwIfAborted();
  const cpus = os.cpus();
  if (cpus.length === 0) throw new Error('the OS lists no CPUs (os.cpus() is empty)');
  const cpuTimes: CpuTimes = {
    user: 0,
    nice: 0,
    system: 0,
    idle: 0,
    iowait: 0,
    irq: 0,
    softirq: 0,
    steal: 0,
  };
  for (const { times } of cpus) {
    cpuTimes.user += times.user / 1000;
    cpuTimes.nice += times.nice / 1000;
    cpuTimes.system += times.sys / 1000;
    cpuTimes.idle += times.idle / 1000;
    cpuTimes.irq += times.irq / 1000;
  }
  if (!(memory.memTotalBytes > 0)) throw new Error('systeminformation reports no memory total');
  const uptimeSeconds = os.uptime();
  // Windows has no load average: os.loadavg() answers zeros there, which would read as idle.
  const [load1, load5, load15] = os.loadavg() as [number, number, number];
  const loadavg: Loadavg | undefined = process.platform === 'win32' ? undefined : { load1, load5, load15 };
  return {
    cpus: cpus.length,
    cpuTimes,
    modes: PORTABLE_CPU_MODES,
    bootTimeSeconds: Math.round(Date.now() / 1000 - uptimeSeconds),
    meminfo: memory,
    ...(loadavg ? { loadavg } : {}),
    uptimeSeconds,
    os: osInfo,
  };
}
