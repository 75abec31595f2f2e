import type { CollectorDescriptor } from '../../collector.js';
import { streamsSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Streams of nginx-rtmp and MediaMTX servers. */
export const streams: CollectorDescriptor<'streams', ReturnType<typeof streamsSchema>> = {
  name: 'streams',
  configSchema: streamsSchema,
  families: FAMILIES,
  async create(deps) {
    const { StreamsCollector } = await import('./streams.js');
    return new StreamsCollector(deps);
  },
  idle: (config) => config.collectors.streams.servers.length === 0,
};
