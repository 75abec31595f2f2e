import type { CollectorDescriptor } from '../../collector.js';
import { diskSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Filesystem space and inodes per mount, and the sizes of configured folders. */
export const disk: CollectorDescriptor<'disk', ReturnType<typeof diskSchema>> = {
  name: 'disk',
  configSchema: diskSchema,
  families: FAMILIES,
  async create(deps) {
    const { DiskCollector } = await import('./disk.js');
    return new DiskCollector(deps);
  },
};
