import type { CollectorDescriptor } from '../../collector.js';
import { sensorsSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** CPU and disk temperatures, where the host has sensors. */
export const sensors: CollectorDescriptor<'sensors', ReturnType<typeof sensorsSchema>> = {
  name: 'sensors',
  configSchema: sensorsSchema,
  families: FAMILIES,
  async create(deps) {
    const { SensorsCollector } = await import('./sensors.js');
    return new SensorsCollector(deps);
  },
};
