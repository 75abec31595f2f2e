import type { Config, CollectorName, CollectorSettings } from '../../config/schema.js';
import type { Logger } from '../../config/log.js';
import type { Collector } from '../collector.js';
import { DiskCollector } from './disk.js';
import { HostCollector } from './host.js';

export interface CollectorDeps {
  config: Config;
  log: Logger;
}

/**
 * Every collector, by the name that config uses. The schema's `collectors` object has
 * exactly these keys, so an unknown name is a config error before anything runs.
 */
export const COLLECTORS: { [K in CollectorName]: (deps: CollectorDeps) => Collector } = {
  host: (deps) => new HostCollector(deps),
  disk: (deps) => new DiskCollector(deps),
};

export interface ScheduledCollector {
  collector: Collector;
  settings: CollectorSettings;
}

/** The enabled collectors of `config`, built and paired with their schedule. */
export function buildCollectors(deps: CollectorDeps): ScheduledCollector[] {
  const out: ScheduledCollector[] = [];
  for (const name of Object.keys(COLLECTORS) as CollectorName[]) {
    const settings = deps.config.collectors[name];
    if (!settings.enabled) continue;
    out.push({ collector: COLLECTORS[name](deps), settings });
  }
  return out;
}
