import type { CollectorDescriptor } from '../../collector.js';
import { dependenciesSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Probes of the services the application depends on; answers GET /health/deep. */
export const dependencies: CollectorDescriptor<'dependencies', ReturnType<typeof dependenciesSchema>> = {
  name: 'dependencies',
  configSchema: dependenciesSchema,
  families: FAMILIES,
  async create(deps) {
    const { DependenciesCollector } = await import('./dependencies.js');
    return new DependenciesCollector(deps);
  },
  idle: (config) => config.collectors.dependencies.targets.length === 0,
};
