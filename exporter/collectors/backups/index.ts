import type { CollectorDescriptor } from '../../collector.js';
import { backupsSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Backup freshness: the newest backup file of each check, or its marker. */
export const backups: CollectorDescriptor<'backups', ReturnType<typeof backupsSchema>> = {
  name: 'backups',
  configSchema: backupsSchema,
  families: FAMILIES,
  async create(deps) {
    const { BackupsCollector } = await import('./backups.js');
    return new BackupsCollector(deps);
  },
  idle: (config) => config.collectors.backups.checks.length === 0,
};
