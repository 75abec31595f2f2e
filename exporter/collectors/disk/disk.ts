import { compileUserRegex, type TextPattern } from '../../../config/user-regex.js';
import { Gauge, Registry } from 'prom-client';
import type { Logger } from '../../../internal/log.js';
import { errorMessage, type ApplyResult, type RegistryCollector } from '../../collector.js';
import {
  hostView,
  readMountTable,
  scanDirectory,
  statFilesystem,
  underRootfs,
  type DirectoryScan,
  type FsStats,
  type Mount,
} from '../../sources/mounts.js';
import type { CollectorDeps } from '../../collector.js';

/**
 * Filesystem space and inodes per mount (after node_exporter's filesystem collector),
 * plus the sizes of configured folders, scanned in the background on their own interval.
 */

/** One filesystem to report, labelled as the host names it. */
export interface Filesystem {
  device: string;
  mountpoint: string;
  fstype: string;
  majorMinor: string;
  readonly: boolean;
}

export interface SelectOptions {
  excludeFstypes: readonly string[];
  excludeMountpoints: TextPattern;
}

/**
 * The filesystems worth reporting, each once, sorted by mount point:
 * - a later mount at the same mount point hides the earlier one (statfs sees the top one);
 * - excluded fstypes and mount points are dropped;
 * - bind mounts of one filesystem share major:minor and the same numbers, so only the
 *   shortest mount point (then the first alphabetically) is kept.
 */
export function selectFilesystems(mounts: readonly Mount[], opts: SelectOptions): Filesystem[] {
  const visible = new Map<string, Mount>();
  for (const m of mounts) {
    visible.delete(m.mountpoint);
    visible.set(m.mountpoint, m);
  }
  const fstypes = new Set(opts.excludeFstypes);
  const byDevice = new Map<string, Mount>();
  for (const m of visible.values()) {
    if (fstypes.has(m.fstype) || opts.excludeMountpoints.test(m.mountpoint)) continue;
    const kept = byDevice.get(m.majorMinor);
    if (!kept || preferred(m.mountpoint, kept.mountpoint)) byDevice.set(m.majorMinor, m);
  }
  return [...byDevice.values()]
    .map((m) => ({
      device: m.device,
      mountpoint: m.mountpoint,
      fstype: m.fstype,
      majorMinor: m.majorMinor,
      readonly: m.readonly,
    }))
    .sort((a, b) => (a.mountpoint < b.mountpoint ? -1 : a.mountpoint > b.mountpoint ? 1 : 0));
}

function preferred(a: string, b: string): boolean {
  return a.length < b.length || (a.length === b.length && a < b);
}

/** Use% as df computes it: used / (used + avail), so the root reserve counts as full. */
export function usedRatio(s: FsStats): number {
  const used = s.sizeBytes - s.freeBytes;
  const total = used + s.availBytes;
  return total > 0 ? used / total : 0;
}

/**
 * Waits for `promise` at most `ms`: `{ settled: false }` on timeout, rejects when it
 * rejects or `signal` aborts. The timer and the abort listener are always removed.
 */
export function deadline<T>(
  promise: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<{ settled: true; value: T } | { settled: false }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve({ settled: false });
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve({ settled: true, value });
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

export interface DiskCollectorOptions {
  /** Replaces statfs(2), for tests. */
  statfs?: (path: string) => Promise<FsStats>;
}

interface MountResult {
  fs: Filesystem;
  stats?: FsStats;
  error?: string;
}

interface DirectoryState {
  /** The configured (host) path: the label. */
  path: string;
  /** Where this process reads it (under rootfs). */
  readPath: string;
  interval: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  last?: DirectoryScan;
}

const FS_LABELS = ['device', 'mountpoint', 'fstype'] as const;
const DIR_LABELS = ['path'] as const;

export class DiskCollector implements RegistryCollector {
  readonly name = 'disk';
  readonly registry = new Registry();

  private readonly log: Logger;
  private readonly procfs: string;
  private readonly rootfs: string;
  private readonly select: SelectOptions;
  private readonly defaultThreshold: number;
  private readonly thresholds = new Map<string, number>();
  /**
   * statfs gets less than the collector's timeout, so that the run that first meets a
   * hung mount still finishes in time and reports it, instead of failing as a whole.
   */
  private readonly statfsTimeout: number;
  private readonly statfs: (path: string) => Promise<FsStats>;
  /**
   * statfs calls that have not settled, by path. A hung call (a dead NFS server) holds
   * one of libuv's 4 threads until it returns, so a mount is not statfs'd again while
   * its call is pending (node_exporter's stuckMounts): hung calls never pile up.
   */
  private readonly pending = new Map<string, Promise<FsStats>>();
  /** Last error logged per mount point, so a lasting failure is logged once. */
  private readonly failing = new Map<string, string>();
  private readonly warnedThresholds = new Set<string>();
  private readonly directories: DirectoryState[];
  private readonly scans = new AbortController();
  private started = false;

  private readonly fsSize: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsAvail: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsFree: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsUsed: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsFiles: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsFilesFree: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsReadonly: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsError: Gauge<(typeof FS_LABELS)[number]>;
  private readonly fsThreshold: Gauge<(typeof FS_LABELS)[number]>;
  private readonly dirSize: Gauge<(typeof DIR_LABELS)[number]>;
  private readonly dirFiles: Gauge<(typeof DIR_LABELS)[number]>;
  private readonly dirSuccess: Gauge<(typeof DIR_LABELS)[number]>;
  private readonly dirErrors: Gauge<(typeof DIR_LABELS)[number]>;
  private readonly dirTimestamp: Gauge<(typeof DIR_LABELS)[number]>;
  private readonly dirDuration: Gauge<(typeof DIR_LABELS)[number]>;

  constructor(deps: CollectorDeps, opts: DiskCollectorOptions = {}) {
    const cfg = deps.config.collectors.disk;
    this.log = deps.log.child({ collector: 'disk' });
    this.procfs = deps.config.paths.procfs;
    this.rootfs = deps.config.paths.rootfs;
    this.select = {
      excludeFstypes: cfg.exclude_fstypes,
      excludeMountpoints: compileUserRegex(cfg.exclude_mountpoints),
    };
    this.defaultThreshold = cfg.alert_threshold_ratio;
    for (const [mountpoint, ratio] of Object.entries(cfg.thresholds))
      this.thresholds.set(trimSlash(mountpoint), ratio);
    this.statfsTimeout = Math.max(1, Math.floor(cfg.timeout * 0.8));
    this.statfs = opts.statfs ?? statFilesystem;
    this.directories = cfg.directories.map((d) => ({
      path: d.path,
      readPath: underRootfs(this.rootfs, d.path),
      interval: d.interval,
    }));

    const fsGauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: FS_LABELS, registers: [this.registry] });
    const dirGauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: DIR_LABELS, registers: [this.registry] });
    this.fsSize = fsGauge('watchpost_filesystem_size_bytes', 'Total size of the filesystem in bytes.');
    this.fsAvail = fsGauge(
      'watchpost_filesystem_avail_bytes',
      'Free space of the filesystem that unprivileged users can use, in bytes (free space minus the root reserve).',
    );
    this.fsFree = fsGauge(
      'watchpost_filesystem_free_bytes',
      'Free space of the filesystem in bytes, including the root reserve.',
    );
    this.fsUsed = fsGauge(
      'watchpost_filesystem_used_ratio',
      'Used share of the filesystem as df computes Use%: used / (used + available to unprivileged users); 0 for an empty filesystem.',
    );
    this.fsFiles = fsGauge(
      'watchpost_filesystem_files',
      'Total number of inodes (file slots) of the filesystem.',
    );
    this.fsFilesFree = fsGauge(
      'watchpost_filesystem_files_free',
      'Number of free inodes (file slots) of the filesystem.',
    );
    this.fsReadonly = fsGauge(
      'watchpost_filesystem_readonly',
      'Whether the filesystem is mounted read-only (1) or not (0).',
    );
    this.fsError = fsGauge(
      'watchpost_filesystem_device_error',
      'Whether statfs failed or did not return in time for this mount (1) or succeeded (0); its size metrics are absent while it fails.',
    );
    this.fsThreshold = fsGauge(
      'watchpost_filesystem_alert_threshold_ratio',
      'Used ratio above which the disk space alert fires for this mount, from the watchpost configuration.',
    );
    this.dirSize = dirGauge(
      'watchpost_directory_size_bytes',
      'Total size in bytes of the regular files under the folder, from its last scan.',
    );
    this.dirFiles = dirGauge(
      'watchpost_directory_files',
      'Number of regular files under the folder, from its last scan.',
    );
    this.dirSuccess = dirGauge(
      'watchpost_directory_scan_success',
      'Whether the last scan of the folder could read the folder itself (1) or not (0).',
    );
    this.dirErrors = dirGauge(
      'watchpost_directory_scan_errors',
      'Number of entries under the folder that the last scan could not read and skipped.',
    );
    this.dirTimestamp = dirGauge(
      'watchpost_directory_last_scan_timestamp_seconds',
      'Unix time in seconds at which the last scan of the folder finished.',
    );
    this.dirDuration = dirGauge(
      'watchpost_directory_scan_duration_seconds',
      'Time the last scan of the folder took, in seconds.',
    );
  }

  async collect(signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    this.startScans();
    const table = readMountTable(this.procfs, this.rootfs);
    const filesystems = selectFilesystems(hostView(table.mounts, this.rootfs), this.select);
    const results = await Promise.all(filesystems.map((fs) => this.stat(fs, signal)));
    signal.throwIfAborted();
    this.warnUnmatchedThresholds(filesystems);
    const dirs = this.directories.flatMap((d) => (d.last ? [{ path: d.path, scan: d.last }] : []));
    return () => this.apply(results, dirs);
  }

  close(): void {
    this.scans.abort(new Error('disk collector closed'));
    for (const d of this.directories) clearInterval(d.timer);
  }

  private async stat(fs: Filesystem, signal: AbortSignal): Promise<MountResult> {
    const path = underRootfs(this.rootfs, fs.mountpoint);
    if (this.pending.has(path)) {
      return this.failed(fs, `statfs of ${path} from an earlier run has still not returned`);
    }
    let call: Promise<FsStats>;
    try {
      call = this.statfs(path);
    } catch (err) {
      return this.failed(fs, `statfs of ${path} failed: ${errorMessage(err)}`);
    }
    this.pending.set(path, call);
    let stuck = false;
    const settle = () => {
      this.pending.delete(path);
      if (stuck) this.log.info('statfs returned again for a stuck mount', { mountpoint: fs.mountpoint });
    };
    call.then(settle, settle);
    try {
      const r = await deadline(call, this.statfsTimeout, signal);
      if (r.settled) {
        if (this.failing.delete(fs.mountpoint))
          this.log.info('filesystem readable again', { mountpoint: fs.mountpoint });
        return { fs, stats: r.value };
      }
      stuck = true;
      return this.failed(
        fs,
        `statfs of ${path} did not return within ${this.statfsTimeout}ms; not retried until it does`,
      );
    } catch (err) {
      if (signal.aborted) throw err;
      return this.failed(fs, `statfs of ${path} failed: ${errorMessage(err)}`);
    }
  }

  private failed(fs: Filesystem, error: string): MountResult {
    if (this.failing.get(fs.mountpoint) !== error) {
      this.failing.set(fs.mountpoint, error);
      this.log.warn('cannot read filesystem', { mountpoint: fs.mountpoint, device: fs.device, err: error });
    }
    return { fs, error };
  }

  private threshold(mountpoint: string): number {
    return this.thresholds.get(mountpoint) ?? this.defaultThreshold;
  }

  /** A threshold for a mount point that is not reported would silently never apply. */
  private warnUnmatchedThresholds(filesystems: Filesystem[]): void {
    const reported = new Set(filesystems.map((f) => f.mountpoint));
    for (const mountpoint of this.thresholds.keys()) {
      if (reported.has(mountpoint) || this.warnedThresholds.has(mountpoint)) continue;
      this.warnedThresholds.add(mountpoint);
      this.log.warn(
        'a disk threshold names a mount point that is not reported (excluded, not mounted, or a bind mount of another reported mount point)',
        {
          mountpoint,
          reported: [...reported].join(','),
        },
      );
    }
  }

  /** Scans start with the first run, each on its own interval, at most one in flight. */
  private startScans(): void {
    if (this.started || this.scans.signal.aborted) return;
    this.started = true;
    for (const d of this.directories) {
      const run = () => {
        if (d.running || this.scans.signal.aborted) return;
        d.running = scanDirectory(d.readPath, { signal: this.scans.signal })
          .then(
            (scan) => {
              d.last = scan;
              if (!scan.success) this.log.warn('cannot read folder', { path: d.path, err: scan.error });
              else if (scan.errors > 0)
                this.log.debug('folder scan skipped unreadable entries', {
                  path: d.path,
                  errors: scan.errors,
                });
            },
            (err: unknown) => {
              if (!this.scans.signal.aborted)
                this.log.warn('folder scan failed', { path: d.path, err: errorMessage(err) });
            },
          )
          .finally(() => {
            d.running = undefined;
          });
      };
      run();
      d.timer = setInterval(run, d.interval);
      d.timer.unref();
    }
  }

  /** The only place metrics are written: synchronous, so a late run cannot interleave. */
  private apply(results: MountResult[], dirs: { path: string; scan: DirectoryScan }[]): void {
    for (const g of [
      this.fsSize,
      this.fsAvail,
      this.fsFree,
      this.fsUsed,
      this.fsFiles,
      this.fsFilesFree,
      this.fsReadonly,
      this.fsError,
      this.fsThreshold,
    ]) {
      g.reset();
    }
    for (const g of [
      this.dirSize,
      this.dirFiles,
      this.dirSuccess,
      this.dirErrors,
      this.dirTimestamp,
      this.dirDuration,
    ])
      g.reset();

    for (const { fs, stats } of results) {
      const labels = { device: fs.device, mountpoint: fs.mountpoint, fstype: fs.fstype };
      this.fsThreshold.set(labels, this.threshold(fs.mountpoint));
      this.fsReadonly.set(labels, fs.readonly ? 1 : 0);
      this.fsError.set(labels, stats ? 0 : 1);
      if (!stats) continue;
      this.fsSize.set(labels, stats.sizeBytes);
      this.fsAvail.set(labels, stats.availBytes);
      this.fsFree.set(labels, stats.freeBytes);
      this.fsUsed.set(labels, usedRatio(stats));
      this.fsFiles.set(labels, stats.files);
      this.fsFilesFree.set(labels, stats.filesFree);
    }
    for (const { path, scan } of dirs) {
      const labels = { path };
      this.dirSuccess.set(labels, scan.success ? 1 : 0);
      this.dirErrors.set(labels, scan.errors);
      this.dirTimestamp.set(labels, scan.finishedAt);
      this.dirDuration.set(labels, scan.durationSeconds);
      if (!scan.success) continue;
      this.dirSize.set(labels, scan.bytes);
      this.dirFiles.set(labels, scan.files);
    }
  }
}

function trimSlash(path: string): string {
  const p = path.replace(/\/+$/, '');
  return p === '' ? '/' : p;
}
