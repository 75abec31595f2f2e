import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Logger } from '../internal/log.js';
import { parseListen, type Config } from '../config/schema.js';
import { buildCollectors, type ScheduledCollector } from './collectors/index.js';
import { Exposition } from './exposition.js';
import { Scheduler } from './scheduler.js';
import { createApp } from './server.js';
import { listenHttp } from '../internal/listen.js';
import { closeGracefully } from '../internal/shutdown.js';
import type { Server as HttpsServer } from 'node:https';
import { loadTls, watchTls } from './tls.js';
import {
  BASE_FILE_DESCRIPTORS,
  DEFAULT_CONNECTION_LIMITS,
  fitConnections,
  guardConnections,
  openFileLimit,
  type ConnectionGuard,
} from '../internal/connections.js';

export interface ExporterHandle {
  /** The address actually bound (port 0 in config picks a free one). */
  address: { host: string; port: number };
  scheduler: Scheduler;
  exposition: Exposition;
  /** The process and Node.js metrics, rendered when a scrape finds them old. */
  processMetrics: ProcessMetrics;
  /** The connection cap's counters. */
  connections: ConnectionGuard;
  /** Graceful stop: no new connections, in-flight scrapes finish, collectors closed. */
  close(): Promise<void>;
}

export interface ExporterOptions {
  config: Config;
  log: Logger;
  version: string;
  /** Overrides config.exporter.listen (the CLI's --listen). */
  listen?: string;
  /** Replaces the collectors built from config (tests). */
  collectors?: ScheduledCollector[];
  /** The process's open-file limit; read from /proc/self/limits when not given (tests). */
  fileLimit?: number;
}

/**
 * Descriptors the collectors may hold at once beside Node's own: the Docker socket (events
 * stream and requests), one connection per stream server and dependency, a followed file or
 * log stream and its watcher per log source, a folder listing per backup check.
 */
export function collectorFileReserve(config: Config): number {
  const c = config.collectors;
  return (
    BASE_FILE_DESCRIPTORS +
    8 +
    2 * (c.streams.servers.length + c.dependencies.targets.length + c.logs.sources.length) +
    c.backups.checks.length
  );
}

/**
 * How often the event-loop-delay histogram samples, in ms. Each sample is a wake-up of the
 * process: at prom-client's default of 10 ms that alone cost ~5 ms of CPU per second on an
 * idle exporter, and still ~2 ms/s at 100 ms (bench/RESULTS.md, "where the idle CPU went");
 * one a second costs ~0.3 ms/s. The histogram still catches every stall long enough to
 * delay a one-second timer, and nodejs_eventloop_lag_seconds is measured at each render.
 */
export const EVENT_LOOP_RESOLUTION_MS = 1000;

/** prom-client's process and Node.js metrics, plus watchpost_exporter_build_info. */
export function createProcessRegistry(version: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
  // These three are gauges named like counters, which `promtool check metrics` rejects;
  // nodejs_active_handles{type}, nodejs_active_requests and nodejs_active_resources{type}
  // carry the same numbers under valid names.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }
  new Gauge({
    name: 'watchpost_exporter_build_info',
    help: 'Always 1; labels carry the version of watchpost and of Node.js that run this exporter.',
    labelNames: ['version', 'nodejs'],
    registers: [registry],
  }).set({ version, nodejs: process.version }, 1);
  return registry;
}

/**
 * The process and Node.js metrics' part of the exposition, refreshed when a scrape finds it
 * older than `maxAgeMs`, never while nobody scrapes: rendering them on a timer was the
 * largest part of an idle exporter's CPU (reading /proc/self, heap statistics, the
 * event-loop histogram, and the garbage all that leaves). At Prometheus's cadence each
 * scrape gets values measured for it; back-to-back scrapes share one render per `maxAgeMs`.
 * Concurrent scrapes wait for the same render. The event-loop-delay figures cover the time
 * since the previous render (prom-client resets the histogram at each).
 */
export class ProcessMetrics {
  readonly #registry: Registry;
  readonly #exposition: Exposition;
  readonly #maxAgeMs: number;
  readonly #log: Logger;
  #renderedAt = -Infinity;
  #rendering: Promise<void> | undefined;
  /** Renders so far (tests). */
  renders = 0;

  constructor(opts: { registry: Registry; exposition: Exposition; maxAgeMs: number; log: Logger }) {
    this.#registry = opts.registry;
    this.#exposition = opts.exposition;
    this.#maxAgeMs = opts.maxAgeMs;
    this.#log = opts.log;
    this.#exposition.set('process', '');
  }

  /** Re-renders the part if it is older than maxAgeMs; resolves when it is current. Never rejects. */
  refresh(): Promise<void> {
    if (this.#rendering) return this.#rendering;
    if (performance.now() - this.#renderedAt < this.#maxAgeMs) return Promise.resolve();
    this.#rendering = this.#render().finally(() => (this.#rendering = undefined));
    return this.#rendering;
  }

  async #render(): Promise<void> {
    try {
      const text = await this.#registry.metrics();
      this.#exposition.set('process', text);
      this.renders++;
    } catch (err) {
      // The previous values stay: they are process figures, and the next scrape retries.
      this.#log.warn('process metrics failed', { err });
    }
    this.#renderedAt = performance.now();
  }
}

/**
 * Starts the exporter: collectors in the background, the HTTP server in front of the
 * pre-rendered exposition. Resolves once the server listens.
 */
export async function startExporter(opts: ExporterOptions): Promise<ExporterHandle> {
  const { config, log } = opts;
  const exposition = new Exposition();

  // The process and Node.js metrics are rendered for the scrapes that read them (see
  // ProcessMetrics); the first render happens now, so the first scrape does not wait.
  const processMetrics = new ProcessMetrics({
    registry: createProcessRegistry(opts.version),
    exposition,
    maxAgeMs: config.exporter.process_metrics_interval,
    log,
  });
  await processMetrics.refresh();

  const collectors = opts.collectors ?? (await buildCollectors({ config, log }));
  const scheduler = new Scheduler(collectors, { log, exposition });
  // GET /health/deep answers from the collector that checks what the application
  // depends on (the dependencies collector), whichever it is.
  const deepHealth = collectors.flatMap(({ collector: c }) => (c.health ? [c.health.bind(c)] : []))[0];
  const app = createApp({
    exposition,
    scheduler,
    version: opts.version,
    beforeScrape: () => processMetrics.refresh(),
    bearerToken: config.exporter.bearer_token_file,
    ...(deepHealth ? { deepHealth } : {}),
  });

  const { host, port } = parseListen(opts.listen ?? config.exporter.listen);
  const tlsConfig = config.exporter.tls;
  const tlsFiles = tlsConfig ? { certFile: tlsConfig.cert_file, keyFile: tlsConfig.key_file } : undefined;
  const server = await listenHttp(app, host, port, tlsFiles && loadTls(tlsFiles).options).catch(
    async (err: unknown) => {
      await scheduler.stop();
      throw err;
    },
  );
  // Prometheus keeps its scrape connections open; time out idle ones well above a scrape interval.
  server.keepAliveTimeout = 65_000;
  // Each kept connection holds a descriptor: the cap must leave the collectors theirs, or a
  // flood makes the host and disk collectors fail with EMFILE.
  const budget = fitConnections({
    configured: config.exporter.max_connections,
    reserve: collectorFileReserve(config),
    limit: opts.fileLimit ?? openFileLimit(),
    key: 'exporter.max_connections',
  });
  if (budget.warning) log.warn(budget.warning);
  const connections = guardConnections(server, {
    ...DEFAULT_CONNECTION_LIMITS,
    maxConnections: budget.maxConnections,
  });
  const tls =
    tlsConfig && tlsFiles && watchTls(server as HttpsServer, tlsFiles, tlsConfig.reload_interval, log);
  scheduler.start();
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  log.info('exporter listening', {
    address: `${host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`,
    collectors: collectors.map((c) => c.collector.name).join(','),
    metrics_auth: config.exporter.bearer_token_file ? 'bearer' : 'none',
    scheme: tls ? 'https' : 'http',
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      tls?.stop();
      await Promise.all([closeGracefully(server), scheduler.stop()]);
      log.info('exporter stopped');
    })());

  return { address, scheduler, exposition, processMetrics, connections, close };
}
