import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from '../internal/log.js';
import type { NotifierConfig } from '../config/notifier-schema.js';
import { parseListen } from '../config/schema.js';
import { Secret } from '../internal/secret.js';
import type { Channel } from './channels/channel.js';
import { EmailChannel } from './channels/email.js';
import { LogChannel } from './channels/log.js';
import { SlackChannel } from './channels/slack.js';
import { currentValues } from './current.js';
import { Delivery, route, type DeliveryOptions } from './delivery.js';
import { NotifierMetrics, type OutboxStats } from './metrics.js';
import { Outbox, type Notification } from './outbox.js';
import { parsePayload, type WebhookPayload } from './payload.js';
import type { RenderOptions } from './render.js';
import { createNotifierApp, type Answer } from './server.js';
import { listenHttp } from '../internal/listen.js';
import { closeGracefully } from '../internal/shutdown.js';
import {
  BASE_FILE_DESCRIPTORS,
  DEFAULT_CONNECTION_LIMITS,
  fitConnections,
  guardConnections,
  openFileLimit,
  type ConnectionGuard,
} from '../internal/connections.js';

export interface NotifierHandle {
  address: { host: string; port: number };
  /** http://host:port of the bound address. */
  url: string;
  outbox: Outbox;
  metrics: NotifierMetrics;
  /** The connection cap's counters. */
  connections: ConnectionGuard;
  /** Graceful stop: no new requests, workers stop between sends; undelivered entries stay on disk. */
  close(): Promise<void>;
}

export interface NotifierOptions {
  config: NotifierConfig;
  log: Logger;
  /** Overrides config.listen (the CLI's --listen). */
  listen?: string | undefined;
  /** The process's open-file limit; read from /proc/self/limits when not given (tests). */
  fileLimit?: number;
  /** Replaces the channels built from config (tests). */
  channels?: Channel[];
  delivery?: DeliveryOptions;
  /** Outbox compaction threshold (tests). */
  compactMinFinished?: number;
}

export const PIPELINE_ALERT = 'MonitoringPipelineSilent';

export function buildChannels(config: NotifierConfig, log: Logger): Channel[] {
  const render: RenderOptions = {
    alertmanagerUrl: config.alertmanager_url,
    runbookBaseUrl: config.runbook_base_url,
    dashboardBaseUrl: config.dashboard_base_url,
  };
  return config.channels.map((c): Channel => {
    if (c.type === 'slack') return new SlackChannel(c.name, c.severities, c.slack.webhook_url_file, render);
    if (c.type === 'email') return new EmailChannel(c.name, c.severities, c.email, render);
    return new LogChannel(c.name, c.severities, log, render);
  });
}

export { route } from './delivery.js';

/** Shorter tokens are refused: a token is the only thing between the network and the pager. */
export const MIN_TOKEN_LENGTH = 16;

/** Writes `text` to `path` atomically: a temp file (0600), fsync, rename, fsync of the folder. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * The configured token, or one generated on first start into state_dir/token (0600, written
 * atomically). Never logged. An empty or short token is refused: comparing an empty token with
 * a missing header would let anyone in. An empty generated file (a first start on a full disk
 * with an older version) was never given to anyone and is replaced.
 */
export function bearerToken(config: NotifierConfig, log: Logger): Secret {
  if (config.bearer_token_file) {
    const value = config.bearer_token_file.reveal().trim();
    if (value.length < MIN_TOKEN_LENGTH)
      throw new Error(
        `notifier.bearer_token_file: the token is ${value.length === 0 ? 'empty' : `${value.length} characters long`}; expected at least ${MIN_TOKEN_LENGTH} (generate one with: openssl rand -hex 32)`,
      );
    return value === config.bearer_token_file.reveal() ? config.bearer_token_file : new Secret(value);
  }
  const path = join(config.state_dir, 'token');
  mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  let existing: string | undefined;
  try {
    existing = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined && existing.length >= MIN_TOKEN_LENGTH) return new Secret(existing);
  if (existing !== undefined && existing.length > 0)
    throw new Error(
      `${path}: the generated token is ${existing.length} characters long; expected at least ${MIN_TOKEN_LENGTH}. Delete the file to generate a new one, and give the new one to Alertmanager.`,
    );
  if (existing !== undefined)
    log.warn('the generated token file is empty (an interrupted first start); generating a new one', {
      path,
    });
  const token = randomBytes(32).toString('hex');
  writeFileAtomic(path, `${token}\n`);
  const secret = new Secret(token);
  log.info('generated a bearer token for the notifier; give this file to Alertmanager (credentials_file)', {
    path,
  });
  return secret;
}

/** The dead-man's switch's state, kept in state_dir so a restart does not disarm it. */
interface HeartbeatState {
  /** ms since the epoch of the last heartbeat. */
  last: number;
  /** The "pipeline is silent" notification was sent and not yet resolved. */
  silent: boolean;
}

function readHeartbeat(path: string, log: Logger): HeartbeatState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn('could not read the last heartbeat; the switch arms at the next one', { path, err });
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<HeartbeatState>;
    if (typeof v.last === 'number' && Number.isFinite(v.last) && v.last > 0)
      return { last: v.last, silent: v.silent === true };
  } catch {
    // fall through
  }
  log.warn('the last-heartbeat file is unreadable; the switch arms at the next heartbeat', { path });
  return undefined;
}

/** The notifier's own message; it is enqueued for every channel, whatever their severities. */
function pipelineNotification(
  status: 'firing' | 'resolved',
  lastBeat: number,
  timeoutMs: number,
  now: number,
): Notification {
  const startsAt = new Date(lastBeat + timeoutMs).toISOString();
  const labels = { alertname: PIPELINE_ALERT, severity: 'critical' };
  const minutes = Math.round(timeoutMs / 60_000);
  const payload: WebhookPayload = {
    version: '4',
    groupKey: 'watchpost-notifier/heartbeat',
    truncatedAlerts: 0,
    status,
    receiver: 'watchpost-notifier',
    groupLabels: { alertname: PIPELINE_ALERT },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: '',
    alerts: [
      {
        status,
        labels,
        annotations: {
          summary:
            status === 'firing'
              ? 'The monitoring pipeline is silent: no heartbeat from Alertmanager'
              : 'The monitoring pipeline is back: heartbeats arrive again',
          description:
            status === 'firing'
              ? `No Watchdog heartbeat has arrived for ${minutes >= 1 ? `${minutes} min` : `${timeoutMs} ms`} (last one at ${new Date(lastBeat).toISOString()}). Prometheus, Alertmanager or the path between them and this notifier is down: alerts are not being sent.`
              : 'Alertmanager is sending the Watchdog heartbeat again. Alerts that fired while it was silent arrive now.',
          runbook_url: 'docs/runbooks/Watchdog.md',
        },
        startsAt,
        endsAt: status === 'resolved' ? new Date(now).toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: '',
      },
    ],
  };
  return { payload };
}

/** Per channel: undelivered entries and the age of the oldest (the per-channel gauges). */
function outboxStats(outbox: Outbox, channels: readonly string[], now: number): OutboxStats {
  const out: OutboxStats['channels'] = new Map(channels.map((c) => [c, { depth: 0, oldestAgeSeconds: 0 }]));
  for (const entry of outbox.live()) {
    for (const ch of entry.channels) {
      if (entry.done.has(ch)) continue;
      const s = out.get(ch);
      if (!s) continue;
      if (s.depth === 0) s.oldestAgeSeconds = Math.max(0, (now - entry.at) / 1000);
      s.depth++;
    }
  }
  return { bytes: outbox.bytes(), channels: out };
}

/** Starts the notifier: replays the outbox, starts delivery, then listens. */
export async function startNotifier(opts: NotifierOptions): Promise<NotifierHandle> {
  const { config, log } = opts;
  const token = bearerToken(config, log);
  const outbox = Outbox.open({
    dir: config.state_dir,
    maxEntries: config.outbox_max_entries,
    maxBytes: config.outbox_max_bytes,
    dedupeWindowMs: config.dedupe_window,
    log,
    ...(opts.compactMinFinished !== undefined ? { compactMinFinished: opts.compactMinFinished } : {}),
  });
  const channels = opts.channels ?? buildChannels(config, log);
  const allNames = channels.map((c) => c.name);
  const metrics = new NotifierMetrics(
    () => outbox.depth(),
    () => outboxStats(outbox, allNames, Date.now()),
  );
  for (const c of channels) metrics.initChannel(c.name);
  const matchers = new Map(config.channels.map((c) => [c.name, c.matchers]));

  // Entries for a channel removed from the config since they were accepted can never be delivered there.
  for (const entry of outbox.entries()) {
    for (const ch of entry.channels) {
      if (!allNames.includes(ch)) {
        log.warn('outbox entry for a channel no longer configured; dropped for that channel', {
          channel: ch,
          id: entry.id,
        });
        outbox.markDone(entry.id, ch, 'failed_permanent');
      }
    }
  }

  /** Never throws: a full outbox is a 503, a failed write (a full disk) a 503 too; Alertmanager retries both. */
  const enqueue = (message: Notification, targets: string[], hash?: string): Answer => {
    let result;
    try {
      result = outbox.enqueue(message, targets, hash);
    } catch (err) {
      metrics.rejected.inc({ reason: 'write_failed' });
      log.error('outbox write failed: notification refused (Alertmanager will retry)', {
        err,
        status: message.payload.status,
        alertname: message.payload.commonLabels.alertname,
      });
      return {
        status: 503,
        body: {
          error: `outbox write failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        },
      };
    }
    if (!result.ok) {
      metrics.rejected.inc({ reason: 'outbox_full' });
      log.error('outbox full: notification refused (Alertmanager will retry)', {
        detail: result.detail,
        status: message.payload.status,
        alertname: message.payload.commonLabels.alertname,
      });
      return { status: 503, body: { error: `outbox full: ${result.detail}` } };
    }
    return { status: 200, body: { status: 'accepted', id: result.entry.id, channels: targets } };
  };

  // Dead-man's switch. Its state is kept in state_dir, so a restart (or a crash loop) does not
  // disarm it: a silence that began before the restart still raises the alarm on time.
  const heartbeatFile = join(config.state_dir, 'heartbeat.json');
  const stored = readHeartbeat(heartbeatFile, log);
  let lastBeat: number | undefined = stored?.last;
  let silent = stored?.silent ?? false;
  if (lastBeat !== undefined) metrics.lastHeartbeat.set(lastBeat / 1000);
  let persistFailed = false;
  const persist = () => {
    if (lastBeat === undefined) return;
    try {
      writeFileSync(
        `${heartbeatFile}.tmp`,
        JSON.stringify({ last: lastBeat, silent } satisfies HeartbeatState),
        {
          mode: 0o600,
        },
      );
      renameSync(`${heartbeatFile}.tmp`, heartbeatFile);
      if (persistFailed) log.info('the last heartbeat is written again', { path: heartbeatFile });
      persistFailed = false;
    } catch (err) {
      // Kept in memory; only a restart before the next successful write would forget it.
      if (!persistFailed) log.error('could not write the last heartbeat', { path: heartbeatFile, err });
      persistFailed = true;
    }
  };
  const beat = () => {
    const now = Date.now();
    const previous = lastBeat;
    if (silent && previous !== undefined) {
      // Built from the previous heartbeat: the silence ran from previous + timeout until now.
      const answer = enqueue(
        pipelineNotification('resolved', previous, config.heartbeat.timeout, now),
        allNames,
      );
      if (answer.status === 200) {
        silent = false;
        log.info('heartbeat is back: the monitoring pipeline works again');
      }
    }
    lastBeat = now;
    metrics.lastHeartbeat.set(now / 1000);
    persist();
  };
  const checkEvery = Math.max(20, Math.min(config.heartbeat.timeout / 4, 10_000));
  const heartbeatTimer = setInterval(() => {
    try {
      outbox.flushPending();
      if (lastBeat === undefined || silent) return;
      const now = Date.now();
      if (now - lastBeat > config.heartbeat.timeout) {
        log.error('no heartbeat from Alertmanager: the monitoring pipeline is silent', {
          last_heartbeat: new Date(lastBeat).toISOString(),
        });
        // On a write failure (a full disk) the alarm is tried again at the next tick.
        const answer = enqueue(
          pipelineNotification('firing', lastBeat, config.heartbeat.timeout, now),
          allNames,
        );
        if (answer.status === 200) {
          silent = true;
          persist();
        }
      }
    } catch (err) {
      log.error('heartbeat check failed; trying again', { err });
    }
  }, checkEvery);
  heartbeatTimer.unref();

  const onAlerts = (raw: Buffer): Answer => {
    const parsed = parsePayload(raw.toString('utf8'));
    if (!parsed.ok) {
      metrics.rejected.inc({ reason: 'invalid' });
      log.warn('rejected an invalid webhook', { reason: parsed.reason });
      return { status: 400, body: { error: parsed.reason } };
    }
    const payload = parsed.payload;
    if (payload.alerts.length > 0 && payload.alerts.every((a) => a.labels.alertname === 'Watchdog')) {
      beat();
      return { status: 200, body: { status: 'heartbeat' } };
    }
    const hash = createHash('sha256').update(raw).digest('hex');
    if (outbox.isDuplicate(hash)) {
      metrics.rejected.inc({ reason: 'duplicate' });
      log.debug('identical webhook within the dedupe window: a retry, not delivered again');
      return { status: 200, body: { status: 'duplicate' } };
    }
    return enqueue({ payload }, route(payload, channels, matchers), hash);
  };

  const onHeartbeat = (raw: Buffer): Answer => {
    const text = raw.toString('utf8').trim();
    if (text !== '') {
      try {
        JSON.parse(text);
      } catch (err) {
        metrics.rejected.inc({ reason: 'invalid' });
        return { status: 400, body: { error: `invalid JSON: ${(err as Error).message}` } };
      }
    }
    beat();
    return { status: 200, body: { status: 'heartbeat' } };
  };

  const delivery = new Delivery(outbox, channels, metrics, log, {
    backoffBaseMs: config.retry.base,
    backoffCapMs: config.retry.cap,
    maxAttempts: config.retry.max_attempts,
    maxAgeMs: config.max_delivery_age,
    ...(config.prometheus_url
      ? { enrich: currentValues({ prometheusUrl: config.prometheus_url, log }) }
      : {}),
    ...opts.delivery,
  });
  delivery.start();

  const app = createNotifierApp({
    bearerToken: token,
    maxBodyBytes: config.max_body_bytes,
    metrics,
    registry: metrics.registry,
    onAlerts,
    onHeartbeat,
    ready: () => true,
  });

  const { host, port } = parseListen(opts.listen ?? config.listen);
  let server: Server;
  try {
    server = await listenHttp(app, host, port);
  } catch (err) {
    clearInterval(heartbeatTimer);
    await delivery.stop();
    outbox.close();
    throw err;
  }
  // The exporter's connection cap and timeouts: a flood of idle connections displaces only
  // itself, and leaves the outbox and the channels their file descriptors.
  const budget = fitConnections({
    configured: config.max_connections,
    // Node's own, the outbox and heartbeat files, and a connection or two per channel.
    reserve: BASE_FILE_DESCRIPTORS + 4 + 2 * channels.length,
    limit: opts.fileLimit ?? openFileLimit(),
    key: 'notifier.max_connections',
  });
  if (budget.warning) log.warn(budget.warning);
  const connections = guardConnections(server, {
    ...DEFAULT_CONNECTION_LIMITS,
    maxConnections: budget.maxConnections,
  });
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  const hostText = address.host.includes(':') ? `[${address.host}]` : address.host;
  log.info('notifier listening', {
    address: `${hostText}:${address.port}`,
    channels: channels.map((c) => `${c.name}(${c.type})`).join(','),
    outbox: outbox.file,
    undelivered: outbox.depth(),
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(heartbeatTimer);
      await Promise.all([closeGracefully(server), delivery.stop()]);
      outbox.close();
      log.info('notifier stopped', { undelivered: outbox.depth() });
    })());

  return { address, url: `http://${hostText}:${address.port}`, outbox, metrics, connections, close };
}
