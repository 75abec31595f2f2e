import type { Config, CollectorName, CollectorSettings } from '../../config/schema.js';
import type { CollectorDeps, HostProblem } from '../collector.js';
import type { Collector } from '../collector.js';
import { DESCRIPTORS } from './registry.js';

export type { CollectorDeps, HostProblem } from '../collector.js';

/**
 * Settings that would leave something the user asked for unwatched, for `watchpost
 * check` and the exporter's start, from every collector that can tell.
 */
export function hostProblems(config: Config): HostProblem[] {
  return DESCRIPTORS.flatMap((d) => d.hostProblems?.(config) ?? []);
}

export interface ScheduledCollector {
  collector: Collector;
  settings: CollectorSettings;
}

type Plan = { name: CollectorName; start: boolean; reason?: string };

function plan(d: (typeof DESCRIPTORS)[number], config: Config): Plan {
  const name = d.name;
  const enabled = config.collectors[name].enabled;
  if (enabled === false) return { name, start: false, reason: 'disabled' };
  const unavailable = enabled === 'auto' ? d.unavailable?.(config) : undefined;
  if (unavailable !== undefined) return { name, start: false, reason: `enabled: auto, ${unavailable}` };
  if (d.idle?.(config)) return { name, start: false, reason: 'nothing configured' };
  return { name, start: true };
}

/** Whether each collector would start with `config`, and if not, why not. */
export function planCollectors(config: Config): Plan[] {
  return DESCRIPTORS.map((d) => plan(d, config));
}

/**
 * The collectors that start with `config`, created and paired with their schedule. Only
 * these are imported: a disabled collector's module (and what it needs) is never loaded.
 */
export async function buildCollectors(deps: CollectorDeps): Promise<ScheduledCollector[]> {
  const out: ScheduledCollector[] = [];
  for (const d of DESCRIPTORS) {
    const { start, reason } = plan(d, deps.config);
    if (!start) {
      deps.log.debug('collector not started', { collector: d.name, reason });
      continue;
    }
    out.push({ collector: await d.create(deps), settings: deps.config.collectors[d.name] });
  }
  return out;
}
