import { counter, gauge } from '../../metric-families.js';

export const cpuSeconds = counter(
  'watchpost_host_cpu_seconds_total',
  'Seconds the CPUs spent in each mode since boot, summed over all CPUs.',
  ['mode'],
);
export const cpuUsage = gauge(
  'watchpost_host_cpu_usage_ratio',
  'Share of CPU time, over all CPUs, spent in modes other than idle and iowait between the last two collections, from 0 to 1; absent until the second collection.',
);
export const cpus = gauge('watchpost_host_cpus', 'Number of online CPUs.');
export const memTotal = gauge('watchpost_host_memory_total_bytes', 'Total usable memory in bytes.');
export const memAvailable = gauge(
  'watchpost_host_memory_available_bytes',
  'Memory available to start new programs without swapping, in bytes (MemAvailable, or MemFree + Buffers + Cached before Linux 3.14).',
);
export const swapTotal = gauge('watchpost_host_swap_total_bytes', 'Total swap space in bytes.');
export const swapFree = gauge('watchpost_host_swap_free_bytes', 'Unused swap space in bytes.');
export const load1 = gauge(
  'watchpost_host_load1',
  'Load average over the last minute (runnable and uninterruptible tasks).',
);
export const load5 = gauge(
  'watchpost_host_load5',
  'Load average over the last 5 minutes (runnable and uninterruptible tasks).',
);
export const load15 = gauge(
  'watchpost_host_load15',
  'Load average over the last 15 minutes (runnable and uninterruptible tasks).',
);
export const uptime = gauge('watchpost_host_uptime_seconds', 'Seconds since the host booted.');
export const bootTime = gauge(
  'watchpost_host_boot_timestamp_seconds',
  'Time the host booted, as a Unix timestamp in seconds.',
);

export const osInfo = gauge(
  'watchpost_host_os_info',
  'Always 1: what the host runs, from its os-release file (ID, NAME, VERSION_ID, PRETTY_NAME) and uname (kernel release, machine); each value at most 128 characters.',
  ['id', 'name', 'version_id', 'pretty_name', 'kernel', 'arch'],
);

export const FAMILIES = [
  cpuSeconds,
  cpuUsage,
  cpus,
  memTotal,
  memAvailable,
  swapTotal,
  swapFree,
  load1,
  load5,
  load15,
  uptime,
  bootTime,
  osInfo,
];
