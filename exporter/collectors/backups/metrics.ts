import { gauge } from '../../metric-families.js';

const LABELS = ['name'] as const;

export const lastSuccess = gauge(
  'watchpost_backup_last_success_timestamp_seconds',
  'Unix time in seconds of the newest backup of the check: the modification time of the newest matching file of at least the minimum size, or the time its marker file states; 0 when no file qualifies.',
  LABELS,
);
export const size = gauge(
  'watchpost_backup_size_bytes',
  'Size in bytes of the newest backup file of the check (file checks only).',
  LABELS,
);
export const files = gauge(
  'watchpost_backup_files',
  'Number of regular files matching the path of the check, whatever their size (1 for a marker check).',
  LABELS,
);
export const maxAge = gauge(
  'watchpost_backup_max_age_seconds',
  'Age in seconds above which the newest backup of the check is too old, from the watchpost configuration.',
  LABELS,
);
export const minSize = gauge(
  'watchpost_backup_min_size_bytes',
  'Size in bytes below which a file does not count as a backup, from the watchpost configuration.',
  LABELS,
);
export const checkUp = gauge(
  'watchpost_backup_check_up',
  'Whether the folder or marker file of the check could be read and the marker parsed (1) or not (0); its timestamp and size are absent while it is 0.',
  LABELS,
);
/** The inverse of watchpost_backup_check_up under its 0.1 name; served beside it for one release. */
export const checkError = gauge(
  'watchpost_backup_check_error',
  'Deprecated, removed in the next release: 1 - watchpost_backup_check_up.',
  LABELS,
);

export const FAMILIES = [lastSuccess, size, files, maxAge, minSize, checkUp, checkError];
