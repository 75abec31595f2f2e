import { compileUserRegex, type TextPattern } from '../../../config/user-regex.js';
import type { Logger } from '../../../internal/log.js';
import { deadline } from '../../../internal/timeout.js';
import {
  ChangeLog,
  errorMessage,
  Snapshot,
  sourceOnThisSystem,
  type Collector,
  type CollectorDeps,
} from '../../collector.js';
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
import { DEFAULT_EXCLUDED_MOUNTPOINTS } from './config.js';
import * as m from './metrics.js';
import { FAMILIES } from './metrics.js';

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

export class DiskCollector implements Collector {
  readonly name = 'disk';
  readonly families = FAMILIES;

  private readonly log: Logger;
  private readonly source: 'procfs' | 'systeminformation';
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
  /** A lasting failure of a mount is logged once per change, and its recovery once. */
  private readonly changes: ChangeLog<Filesystem>;
  private readonly warnedThresholds = new Set<string>();
  private readonly directories: DirectoryState[];
  private readonly scans = new AbortController();
  private started = false;

  constructor(deps: CollectorDeps, opts: DiskCollectorOptions = {}) {
    const cfg = deps.config.collectors.disk;
    this.log = deps.log.child({ collector: 'disk' });
    this.changes = new ChangeLog<Filesystem>(
      (mountpoint, err, fs) =>
        this.log.warn('cannot read filesystem', { mountpoint, device: fs.device, err }),
      (mountpoint) => this.log.info('filesystem readable again', { mountpoint }),
    );
    this.source = sourceOnThisSystem(cfg.source, 'procfs');
    this.procfs = deps.config.paths.procfs;
    this.rootfs = deps.config.paths.rootfs;
    this.select = {
      excludeFstypes: cfg.exclude_fstypes,
      excludeMountpoints: compileUserRegex(cfg.exclude_mountpoints, DEFAULT_EXCLUDED_MOUNTPOINTS),
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
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    signal.throwIfAborted();
    this.startScans();
    const filesystems = selectFilesystems(await this.mounts(), this.select);
    const results = await Promise.all(filesystems.map((fs) => this.stat(fs, signal)));
    signal.throwIfAborted();
    this.warnUnmatchedThresholds(filesystems);
    const dirs = this.directories.flatMap((d) => (d.last ? [{ path: d.path, scan: d.last }] : []));
    return this.snapshot(results, dirs);
  }

  /** The mounts as the host sees them: its mount table on Linux, systeminformation's list elsewhere. */
  private async mounts(): Promise<Mount[]> {
    if (this.source === 'procfs') {
      return hostView(readMountTable(this.procfs, this.rootfs).mounts, this.rootfs);
    }
    const { siFilesystems } = await import('../../sources/systeminformation.js');
    return mountsFromSi(await siFilesystems());
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
        this.changes.ok(fs.mountpoint);
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
    this.changes.fail(fs.mountpoint, error, fs);
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

  private snapshot(results: MountResult[], dirs: { path: string; scan: DirectoryScan }[]): Snapshot {
    const snap = new Snapshot();
    for (const { fs, stats } of results) {
      const labels = { device: fs.device, mountpoint: fs.mountpoint, fstype: fs.fstype };
      if (!stats) continue;
      snap.add(m.fsSize, labels, stats.sizeBytes);
      snap.add(m.fsAvail, labels, stats.availBytes);
      snap.add(m.fsFree, labels, stats.freeBytes);
      snap.add(m.fsUsed, labels, usedRatio(stats));
      snap.add(m.fsFiles, labels, stats.files);
      snap.add(m.fsFilesFree, labels, stats.filesFree);
    }
    for (const { fs, stats } of results) {
      const labels = { device: fs.device, mountpoint: fs.mountpoint, fstype: fs.fstype };
      snap.add(m.fsReadonly, labels, fs.readonly ? 1 : 0);
      snap.add(m.fsError, labels, stats ? 0 : 1);
      snap.add(m.fsThreshold, labels, this.threshold(fs.mountpoint));
    }
    for (const { path, scan } of dirs) {
      if (!scan.success) continue;
      snap.add(m.dirSize, { path }, scan.bytes);
      snap.add(m.dirFiles, { path }, scan.files);
    }
    for (const { path, scan } of dirs) {
      snap.add(m.dirSuccess, { path }, scan.success ? 1 : 0);
      snap.add(m.dirErrors, { path }, scan.errors);
      snap.add(m.dirTimestamp, { path }, scan.finishedAt);
      snap.add(m.dirDuration, { path }, scan.durationSeconds);
    }
    return snap;
  }
}

/**
 * systeminformation's filesystems as mount table rows. It has no major:minor: the device
 * stands in for it, so that two mounts of one device are still reported once.
 */
export function mountsFromSi(
  list: readonly { device: string; mountpoint: string; fstype: string; readonly: boolean }[],
): Mount[] {
  return list.map((f) => ({
    majorMinor: `device:${f.device}`,
    root: '/',
    mountpoint: f.mountpoint,
    options: f.readonly ? ['ro'] : ['rw'],
    fstype: f.fstype,
    device: f.device,
    superOptions: [],
    readonly: f.readonly,
  }));
}

function trimSlash(path: string): string {
  const p = path.replace(/\/+$/, '');
  return p === '' ? '/' : p;
}
