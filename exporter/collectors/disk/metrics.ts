import { gauge } from '../../metric-families.js';

const FS = ['device', 'mountpoint', 'fstype'] as const;
const DIR = ['path'] as const;

export const fsSize = gauge('watchpost_filesystem_size_bytes', 'Total size of the filesystem in bytes.', FS);
export const fsAvail = gauge(
  'watchpost_filesystem_avail_bytes',
  'Free space of the filesystem that unprivileged users can use, in bytes (free space minus the root reserve).',
  FS,
);
export const fsFree = gauge(
  'watchpost_filesystem_free_bytes',
  'Free space of the filesystem in bytes, including the root reserve.',
  FS,
);
export const fsUsed = gauge(
  'watchpost_filesystem_used_ratio',
  'Used share of the filesystem as df computes Use%: used / (used + available to unprivileged users); 0 for an empty filesystem.',
  FS,
);
export const fsFiles = gauge(
  'watchpost_filesystem_files',
  'Total number of inodes (file slots) of the filesystem.',
  FS,
);
export const fsFilesFree = gauge(
  'watchpost_filesystem_files_free',
  'Number of free inodes (file slots) of the filesystem.',
  FS,
);
export const fsReadonly = gauge(
  'watchpost_filesystem_readonly',
  'Whether the filesystem is mounted read-only (1) or not (0).',
  FS,
);
export const fsError = gauge(
  'watchpost_filesystem_device_error',
  'Whether statfs failed or did not return in time for this mount (1) or succeeded (0); its size metrics are absent while it fails.',
  FS,
);
export const fsThreshold = gauge(
  'watchpost_filesystem_alert_threshold_ratio',
  'Used ratio above which the disk space alert fires for this mount, from the watchpost configuration.',
  FS,
);
export const dirSize = gauge(
  'watchpost_directory_size_bytes',
  'Total size in bytes of the regular files under the folder, from its last scan.',
  DIR,
);
export const dirFiles = gauge(
  'watchpost_directory_files',
  'Number of regular files under the folder, from its last scan.',
  DIR,
);
export const dirSuccess = gauge(
  'watchpost_directory_scan_success',
  'Whether the last scan of the folder could read the folder itself (1) or not (0).',
  DIR,
);
export const dirErrors = gauge(
  'watchpost_directory_scan_errors',
  'Number of entries under the folder that the last scan could not read and skipped.',
  DIR,
);
export const dirTimestamp = gauge(
  'watchpost_directory_last_scan_timestamp_seconds',
  'Unix time in seconds at which the last scan of the folder finished.',
  DIR,
);
export const dirDuration = gauge(
  'watchpost_directory_scan_duration_seconds',
  'Time the last scan of the folder took, in seconds.',
  DIR,
);

export const FAMILIES = [
  fsSize,
  fsAvail,
  fsFree,
  fsUsed,
  fsFiles,
  fsFilesFree,
  fsReadonly,
  fsError,
  fsThreshold,
  dirSize,
  dirFiles,
  dirSuccess,
  dirErrors,
  dirTimestamp,
  dirDuration,
];
