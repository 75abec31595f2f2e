import { existsSync } from 'node:fs';
import type { Config, CollectorName, CollectorSettings } from '../../config/schema.js';
import type { Logger } from '../../config/log.js';
import type { Collector } from '../collector.js';
import { BackupsCollector } from './backups.js';
import { ContainersCollector } from './containers.js';
import { DependenciesCollector } from './dependencies.js';
import { DiskCollector } from './disk.js';
import { FfmpegCollector } from './ffmpeg.js';
import { HostCollector } from './host.js';
import { LogsCollector } from './logs.js';
import { StreamsCollector } from './streams.js';

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
  containers: (deps) => new ContainersCollector(deps),
  streams: (deps) => new StreamsCollector(deps),
  ffmpeg: (deps) => new FfmpegCollector(deps),
  dependencies: (deps) => new DependenciesCollector(deps),
  backups: (deps) => new BackupsCollector(deps),
  logs: (deps) => new LogsCollector(deps),
};

/**
 * For collectors whose `enabled` may be "auto": why the collector cannot run on this
 * host, or undefined when it can. The built-in default watches Docker only where a
 * Docker socket exists, so `npm start` works the same on a laptop without Docker.
 */
const UNAVAILABLE: Partial<Record<CollectorName, (config: Config) => string | undefined>> = {
  containers: (config) => {
    const endpoint = config.collectors.containers.endpoint;
    if (!endpoint.startsWith('unix://')) return undefined;
    const socket = endpoint.slice('unix://'.length);
    return existsSync(socket) ? undefined : `no Docker socket at ${socket}`;
  },
};

/** Collectors that have nothing to watch until configured are not started at all. */
const NOTHING_CONFIGURED: Partial<Record<CollectorName, (config: Config) => boolean>> = {
  streams: (config) => config.collectors.streams.servers.length === 0,
  ffmpeg: (config) => config.collectors.ffmpeg.groups.length === 0,
  dependencies: (config) => config.collectors.dependencies.targets.length === 0,
  backups: (config) => config.collectors.backups.checks.length === 0,
  logs: (config) => config.collectors.logs.sources.length === 0,
};

/** A setting that passes the schema but cannot work on this host. */
export interface HostProblem {
  path: string[];
  message: string;
}

/**
 * Settings that would leave something the user asked for unwatched, for `watchpost
 * check` and the exporter's start. `enabled: auto` skips the containers collector where
 * there is no Docker socket, which is right on a laptop but wrong when containers are
 * expected: nothing would ever say they are gone.
 */
export function hostProblems(config: Config): HostProblem[] {
  const out: HostProblem[] = [];
  const containers = config.collectors.containers;
  const unavailable = UNAVAILABLE.containers?.(config);
  if (containers.enabled === 'auto' && containers.expected.length > 0 && unavailable !== undefined) {
    out.push({
      path: ['collectors', 'containers', 'expected'],
      message:
        `${containers.expected.length} expected container(s) configured, but ${unavailable}: ` +
        `with enabled: auto the containers collector would not start and nothing would watch them. ` +
        `Mount the Docker socket into the exporter (- /var/run/docker.sock:/var/run/docker.sock:ro), ` +
        `point collectors.containers.endpoint at it, or set collectors.containers.enabled: true ` +
        `to run anyway and page while Docker cannot be reached`,
    });
  }
  return out;
}

export interface ScheduledCollector {
  collector: Collector;
  settings: CollectorSettings;
}

/** Whether each collector would start with `config`, and if not, why not. */
export function planCollectors(config: Config): { name: CollectorName; start: boolean; reason?: string }[] {
  return (Object.keys(COLLECTORS) as CollectorName[]).map((name) => {
    const enabled = config.collectors[name].enabled;
    if (enabled === false) return { name, start: false, reason: 'disabled' };
    const unavailable = enabled === 'auto' ? UNAVAILABLE[name]?.(config) : undefined;
    if (unavailable !== undefined) return { name, start: false, reason: `enabled: auto, ${unavailable}` };
    if (NOTHING_CONFIGURED[name]?.(config)) return { name, start: false, reason: 'nothing configured' };
    return { name, start: true };
  });
}

/** The collectors that start with `config`, built and paired with their schedule. */
export function buildCollectors(deps: CollectorDeps): ScheduledCollector[] {
  const out: ScheduledCollector[] = [];
  for (const { name, start, reason } of planCollectors(deps.config)) {
    if (!start) {
      deps.log.debug('collector not started', { collector: name, reason });
      continue;
    }
    out.push({ collector: COLLECTORS[name](deps), settings: deps.config.collectors[name] });
  }
  return out;
}
