import type { CollectorDescriptor } from '../../collector.js';
import { hostSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Host CPU, memory, swap, load and uptime from procfs. */
export const host: CollectorDescriptor<'host', ReturnType<typeof hostSchema>> = {
  name: 'host',
  configSchema: hostSchema,
  families: FAMILIES,
  async create(deps) {
    const { HostCollector } = await import('./host.js');
    return new HostCollector(deps);
  },
};
