import { Gauge, Registry } from 'prom-client';
import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../../internal/log.js';
import { errorMessage, type ApplyResult, type RegistryCollector } from '../../collector.js';
import { readMarker, scanBackups } from '../../sources/backups.js';
import type { CollectorDeps } from '../../collector.js';

/**
 * Backup freshness: the newest backup file of each check (or the time a sync job wrote
 * into its marker file), with the maximum age the user allows, so one static rule
 * serves every check: time() - watchpost_backup_last_success_timestamp_seconds >
 * watchpost_backup_max_age_seconds.
 */

type CheckConfig = Config['collectors']['backups']['checks'][number];

export interface CheckResult {
  name: string;
  maxAgeSeconds: number;
  minSizeBytes: number;
  error?: string;
  /** Unix seconds of the newest qualifying backup (or the marker's time); 0 when none. */
  timestamp?: number;
  sizeBytes?: number;
  files?: number;
}

/** Runs one check; a failure is part of the result, never a throw. */
export async function runCheck(check: CheckConfig): Promise<CheckResult> {
  const base = { name: check.name, maxAgeSeconds: check.max_age / 1000, minSizeBytes: check.min_size };
  try {
    if (check.marker !== undefined) {
      const timestamp = await readMarker(check.marker, check.marker_time);
      return { ...base, timestamp, files: 1 };
    }
    const scan = await scanBackups(check.path!, check.min_size);
    return {
      ...base,
      files: scan.files,
      timestamp: scan.newest?.mtime ?? 0,
      ...(scan.newest ? { sizeBytes: scan.newest.sizeBytes } : {}),
    };
  } catch (err) {
    return { ...base, error: errorMessage(err) };
  }
}

export class BackupsCollector implements RegistryCollector {
  readonly name = 'backups';
  readonly registry = new Registry();

  private readonly log: Logger;
  private readonly checks: CheckConfig[];
  /** Last error logged per check, so a lasting failure is logged once. */
  private readonly failing = new Map<string, string>();

  private readonly lastSuccess: Gauge<'name'>;
  private readonly size: Gauge<'name'>;
  private readonly files: Gauge<'name'>;
  private readonly maxAge: Gauge<'name'>;
  private readonly minSize: Gauge<'name'>;
  private readonly checkError: Gauge<'name'>;

  constructor(deps: CollectorDeps) {
    this.log = deps.log.child({ collector: 'backups' });
    this.checks = deps.config.collectors.backups.checks;
    const gauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ['name'] as const, registers: [this.registry] });
    this.lastSuccess = gauge(
      'watchpost_backup_last_success_timestamp_seconds',
      'Unix time in seconds of the newest backup of the check: the modification time of the newest matching file of at least the minimum size, or the time its marker file states; 0 when no file qualifies.',
    );
    this.size = gauge(
      'watchpost_backup_size_bytes',
      'Size in bytes of the newest backup file of the check (file checks only).',
    );
    this.files = gauge(
      'watchpost_backup_files',
      'Number of regular files matching the path of the check, whatever their size (1 for a marker check).',
    );
    this.maxAge = gauge(
      'watchpost_backup_max_age_seconds',
      'Age in seconds above which the newest backup of the check is too old, from the watchpost configuration.',
    );
    this.minSize = gauge(
      'watchpost_backup_min_size_bytes',
      'Size in bytes below which a file does not count as a backup, from the watchpost configuration.',
    );
    this.checkError = gauge(
      'watchpost_backup_check_error',
      'Whether the folder or marker file of the check could not be read or the marker did not parse (1) or not (0); its timestamp and size are absent while it fails.',
    );
  }

  async collect(signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    const results = await Promise.all(this.checks.map((c) => runCheck(c)));
    signal.throwIfAborted();
    return () => this.apply(results);
  }

  /** The only place metrics are written. */
  private apply(results: CheckResult[]): void {
    for (const g of [this.lastSuccess, this.size, this.files, this.maxAge, this.minSize, this.checkError])
      g.reset();
    for (const r of results) {
      const labels = { name: r.name };
      this.logChange(r);
      this.maxAge.set(labels, r.maxAgeSeconds);
      this.minSize.set(labels, r.minSizeBytes);
      this.checkError.set(labels, r.error === undefined ? 0 : 1);
      if (r.error !== undefined) continue;
      if (r.timestamp !== undefined) this.lastSuccess.set(labels, r.timestamp);
      if (r.sizeBytes !== undefined) this.size.set(labels, r.sizeBytes);
      if (r.files !== undefined) this.files.set(labels, r.files);
    }
  }

  private logChange(r: CheckResult): void {
    if (r.error === undefined) {
      if (this.failing.delete(r.name)) this.log.info('backup check readable again', { check: r.name });
      return;
    }
    if (this.failing.get(r.name) === r.error) return;
    this.failing.set(r.name, r.error);
    this.log.warn('backup check failed', { check: r.name, err: r.error });
  }
}
