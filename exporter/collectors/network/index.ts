import type { CollectorDescriptor } from '../../collector.js';
import { networkSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Per-interface traffic, errors and drops, link state and speed. */
export const network: CollectorDescriptor<'network', ReturnType<typeof networkSchema>> = {
  name: 'network',
  configSchema: networkSchema,
  families: FAMILIES,
  async create(deps) {
    const { NetworkCollector } = await import('./network.js');
    return new NetworkCollector(deps);
  },
};
