import type { CollectorDescriptor } from '../../collector.js';
import { logsSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Authentication attempts, failures by client and HTTP answers from followed logs. */
export const logs: CollectorDescriptor<'logs', ReturnType<typeof logsSchema>> = {
  name: 'logs',
  configSchema: logsSchema,
  families: FAMILIES,
  async create(deps) {
    const { LogsCollector } = await import('./logs.js');
    return new LogsCollector(deps);
  },
  idle: (config) => config.collectors.logs.sources.length === 0,
};
