import { z } from 'zod';
import {
  absolutePath,
  byteSize,
  checkTimeout,
  collectorBase,
  duration,
  name,
  type SchemaContext,
} from '../../../config/fields.js';

/** The settings of the backups collector: `collectors.backups` in watchpost.yml. */
export function backupsSchema(_ctx: SchemaContext) {
  const backupCheck = z
    .strictObject({
      name: name('a backup check name'),
      path: absolutePath
        .superRefine((text, zctx) => {
          const slash = text.lastIndexOf('/');
          if (text.includes('**')) {
            zctx.addIssue({
              code: 'custom',
              message: '"**" is not supported: wildcards match one folder only',
            });
          } else if (/[*?]/.test(text.slice(0, slash))) {
            zctx.addIssue({
              code: 'custom',
              message:
                'wildcards (* and ?) are allowed in the last path segment only, e.g. /backups/pg/*.sql.gz',
            });
          }
        })
        .optional()
        .describe('The backup files: an absolute path whose last segment may hold * and ? wildcards.'),
      marker: absolutePath
        .optional()
        .describe('A status file a sync job writes: a Unix timestamp or an RFC 3339 time.'),
      marker_time: z
        .enum(['content', 'mtime'])
        .default('content')
        .describe("Where a marker's time comes from: its content, or its modification time."),
      max_age: duration('the maximum age of the newest backup').describe(
        'Exported as watchpost_backup_max_age_seconds for the backup-too-old alert.',
      ),
      min_size: byteSize
        .default(1)
        .describe('Smaller files do not count as a backup (an empty dump never does).'),
    })
    .superRefine((c, zctx) => {
      if ((c.path === undefined) === (c.marker === undefined)) {
        zctx.addIssue({
          code: 'custom',
          path: [c.path === undefined ? 'path' : 'marker'],
          message: 'expected exactly one of "path" and "marker"',
        });
      }
    })
    // Checked above; the output holds either path or marker, so that the compiler knows a
    // check without a marker has a path (zod runs this only on a check without issues).
    .transform((c, zctx) => {
      const { path, marker, ...common } = c;
      if (marker !== undefined) return { ...common, marker, path: undefined };
      if (path !== undefined) return { ...common, path, marker: undefined };
      zctx.addIssue({ code: 'custom', message: 'expected exactly one of "path" and "marker"' });
      return z.NEVER;
    });

  const backups = z
    .strictObject({
      // Every 15 s like the others, not every minute: BackupTooOld is a critical page that must come
      // within 2 minutes of the age passing max_age, and a glob plus a stat per file is cheap.
      ...collectorBase({ interval: '15s', timeout: '10s' }),
      checks: z.array(backupCheck).default([]),
    })
    .superRefine(checkTimeout)
    .superRefine((c, zctx) => {
      const names = new Set<string>();
      c.checks.forEach((check, i) => {
        if (names.has(check.name))
          zctx.addIssue({
            code: 'custom',
            path: ['checks', i, 'name'],
            message: `duplicate backup check name "${check.name}"`,
          });
        names.add(check.name);
      });
    })
    .prefault({});
  return backups;
}
