import { gauge } from '../../metric-families.js';

export const processes = gauge(
  'watchpost_ffmpeg_processes',
  'Number of running FFmpeg processes whose command line matches the group.',
  ['group'],
);
export const expectedProcesses = gauge(
  'watchpost_ffmpeg_expected_processes',
  'Number of FFmpeg processes the watchpost configuration expects in the group.',
  ['group'],
);
// A gauge, not a counter: it is a sum over the processes running now, and drops when one
// of them exits. rate() on it is wrong across such drops; deriv() or the per-process view
// of a cgroup is the right tool for long windows.
export const cpuSeconds = gauge(
  'watchpost_ffmpeg_cpu_seconds',
  'Sum of the CPU time (user + system) in seconds used so far by the running processes of the group; drops when one exits.',
  ['group'],
);

export const FAMILIES = [processes, expectedProcesses, cpuSeconds];
