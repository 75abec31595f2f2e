import { z } from 'zod';
import type { SchemaContext } from '../../config/fields.js';
import { backups } from './backups/index.js';
import { containers } from './containers/index.js';
import { dependencies } from './dependencies/index.js';
import { disk } from './disk/index.js';
import { ffmpeg } from './ffmpeg/index.js';
import { host } from './host/index.js';
import { logs } from './logs/index.js';
import { network } from './network/index.js';
import { sensors } from './sensors/index.js';
import { streams } from './streams/index.js';

/**
 * Every collector, in output order: one line each (node_exporter's registerCollector).
 * A descriptor brings the collector's config section, its metric families and how to
 * create it; the config schema, the metric reference and the runner all read this list.
 */
export const DESCRIPTORS = [
  host,
  disk,
  network,
  sensors,
  containers,
  streams,
  ffmpeg,
  dependencies,
  backups,
  logs,
] as const;

type Descriptor = (typeof DESCRIPTORS)[number];
type CollectorsShape = { [D in Descriptor as D['name']]: ReturnType<D['configSchema']> };

/** The `collectors` section of watchpost.yml, one key per registered collector. */
export function collectorsSchema(ctx: SchemaContext) {
  const shape = Object.fromEntries(DESCRIPTORS.map((d) => [d.name, d.configSchema(ctx)])) as CollectorsShape;
  return z.strictObject(shape).prefault({});
}
