import type { CollectorDescriptor } from '../../collector.js';
import { ffmpegSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** FFmpeg processes counted in named groups. */
export const ffmpeg: CollectorDescriptor<'ffmpeg', ReturnType<typeof ffmpegSchema>> = {
  name: 'ffmpeg',
  configSchema: ffmpegSchema,
  families: FAMILIES,
  async create(deps) {
    const { FfmpegCollector } = await import('./ffmpeg.js');
    return new FfmpegCollector(deps);
  },
  idle: (config) => config.collectors.ffmpeg.groups.length === 0,
};
