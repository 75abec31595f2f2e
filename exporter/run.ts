import type { AddressInfo } from 'node:net';
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

/** prom-client's process and Node.js metrics, plus watchpost_exporter_build_info. */
export function createProcessRegistry(version: string): Registry {
  const registry = new Registry();
  // The event-loop-lag monitor samples every 10 ms by default, which alone costs ~5 ms of
  // CPU per second on an idle exporter (bench/RESULTS.md); 100 ms keeps the histogram
  // useful at a tenth of the wake-ups.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
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
 * Starts the exporter: collectors in the background, the HTTP server in front of the
 * pre-rendered exposition. Resolves once the server listens.
 */
export async function startExporter(opts: ExporterOptions): Promise<ExporterHandle> {
  const { config, log } = opts;
  const exposition = new Exposition();

  // prom-client's process and Node.js metrics are refreshed on their own timer rather
  // than computed inside each scrape, so a scrape stays a Buffer write.
  const processRegistry = createProcessRegistry(opts.version);
  exposition.set('process', '');
  const renderProcess = async () => {
    try {
      exposition.set('process', await processRegistry.metrics());
    } catch (err) {
      log.warn('process metrics failed', { err });
    }
  };
  await renderProcess();
  const processTimer = setInterval(() => void renderProcess(), config.exporter.process_metrics_interval);
  processTimer.unref();

  const collectors = opts.collectors ?? (await buildCollectors({ config, log }));
  const scheduler = new Scheduler(collectors, { log, exposition });
  // GET /health/deep answers from the collector that checks what the application
  // depends on (the dependencies collector), whichever it is.
  const deepHealth = collectors.flatMap(({ collector: c }) => (c.health ? [c.health.bind(c)] : []))[0];
  const app = createApp({
    exposition,
    scheduler,
    version: opts.version,
    bearerToken: config.exporter.bearer_token_file,
    ...(deepHealth ? { deepHealth } : {}),
  });

  const { host, port } = parseListen(opts.listen ?? config.exporter.listen);
  const tlsFiles = config.exporter.tls
    ? { certFile: config.exporter.tls.cert_file, keyFile: config.exporter.tls.key_file }
    : undefined;
  const server = await listenHttp(app, host, port, tlsFiles && loadTls(tlsFiles).options).catch(
    async (err: unknown) => {
      clearInterval(processTimer);
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
    tlsFiles && watchTls(server as HttpsServer, tlsFiles, config.exporter.tls!.reload_interval, log);
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
      clearInterval(processTimer);
      tls?.stop();
      await Promise.all([closeGracefully(server), scheduler.stop()]);
      log.info('exporter stopped');
    })());

  return { address, scheduler, exposition, connections, close };
}
