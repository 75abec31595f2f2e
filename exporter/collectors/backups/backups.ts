import type { Config } from '../../../config/schema.js';
import { ChangeLog, errorMessage, Snapshot, type Collector, type CollectorDeps } from '../../collector.js';
import { readMarker, scanBackups } from '../../sources/backups.js';
import * as m from './metrics.js';
import { FAMILIES } from './metrics.js';

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
    const scan = await scanBackups(check.path, check.min_size);
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

export class BackupsCollector implements Collector {
  readonly name = 'backups';
  readonly families = FAMILIES;

  private readonly checks: CheckConfig[];
  /** A lasting failure of a check is logged once, and its recovery once. */
  private readonly changes: ChangeLog;

  constructor(deps: CollectorDeps) {
    const log = deps.log.child({ collector: 'backups' });
    this.checks = deps.config.collectors.backups.checks;
    this.changes = new ChangeLog(
      (check, err) => log.warn('backup check failed', { check, err }),
      (check) => log.info('backup check readable again', { check }),
    );
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    signal.throwIfAborted();
    const results = await Promise.all(this.checks.map((c) => runCheck(c)));
    signal.throwIfAborted();
    const snap = new Snapshot();
    for (const r of results) {
      const labels = { name: r.name };
      if (r.error === undefined) this.changes.ok(r.name);
      else this.changes.fail(r.name, r.error);
      if (r.error !== undefined) continue;
      if (r.timestamp !== undefined) snap.add(m.lastSuccess, labels, r.timestamp);
      if (r.sizeBytes !== undefined) snap.add(m.size, labels, r.sizeBytes);
      if (r.files !== undefined) snap.add(m.files, labels, r.files);
    }
    for (const r of results) snap.add(m.maxAge, { name: r.name }, r.maxAgeSeconds);
    for (const r of results) snap.add(m.minSize, { name: r.name }, r.minSizeBytes);
    for (const r of results) snap.add(m.checkUp, { name: r.name }, r.error === undefined ? 1 : 0);
    for (const r of results) snap.add(m.checkError, { name: r.name }, r.error === undefined ? 0 : 1);
    return snap;
  }
}
