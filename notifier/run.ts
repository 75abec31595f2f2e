import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../config/log.js';
import type { NotifierConfig } from '../config/notifier-schema.js';
import { parseListen } from '../config/schema.js';
import { Secret } from '../config/secret.js';
import type { Channel } from './channels/channel.js';
import { EmailChannel } from './channels/email.js';
import { LogChannel } from './channels/log.js';
import { SlackChannel } from './channels/slack.js';
import { Delivery, route, type DeliveryOptions } from './delivery.js';
import { NotifierMetrics } from './metrics.js';
import { Outbox, type Notification } from './outbox.js';
import { parsePayload, type WebhookPayload } from './payload.js';
import type { RenderOptions } from './render.js';
import { createNotifierApp, type Answer } from './server.js';
import { listenHttp } from '../exporter/listen.js';

export interface NotifierHandle {
  address: { host: string; port: number };
  /** http://host:port of the bound address. */
  url: string;
  outbox: Outbox;
  metrics: NotifierMetrics;
  /** Graceful stop: no new requests, workers stop between sends; undelivered entries stay on disk. */
  close(): Promise<void>;
}

export interface NotifierOptions {
  config: NotifierConfig;
  log: Logger;
  /** Overrides config.listen (the CLI's --listen). */
  listen?: string | undefined;
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
    if (c.type === 'slack') return new SlackChannel(c.name, c.severities, c.slack!.webhook_url_file, render);
    if (c.type === 'email') return new EmailChannel(c.name, c.severities, c.email!, render);
    return new LogChannel(c.name, c.severities, log, render);
  });
}

export { route } from './delivery.js';

/** The configured token, or one generated on first start into state_dir/token (0600). Never logged. */
export function bearerToken(config: NotifierConfig, log: Logger): Secret {
  if (config.bearer_token_file) return config.bearer_token_file;
  const path = join(config.state_dir, 'token');
  mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  try {
    return new Secret(readFileSync(path, 'utf8').trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  const secret = new Secret(token);
  log.info('generated a bearer token for the notifier; give this file to Alertmanager (credentials_file)', {
    path,
  });
  return secret;
}

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
  return { payload, allChannels: true };
}

/** Starts the notifier: replays the outbox, starts delivery, then listens. */
export async function startNotifier(opts: NotifierOptions): Promise<NotifierHandle> {
  const { config, log } = opts;
  const token = bearerToken(config, log);
  const outbox = Outbox.open({
    dir: config.state_dir,
    maxEntries: config.outbox_max_entries,
    dedupeWindowMs: config.dedupe_window,
    log,
    ...(opts.compactMinFinished !== undefined ? { compactMinFinished: opts.compactMinFinished } : {}),
  });
  const metrics = new NotifierMetrics(() => outbox.depth());
  const channels = opts.channels ?? buildChannels(config, log);
  for (const c of channels) metrics.initChannel(c.name);
  const allNames = channels.map((c) => c.name);
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

  const enqueue = (message: Notification, targets: string[], hash?: string): Answer => {
    const result = outbox.enqueue(message, targets, hash);
    if (!result.ok) {
      metrics.rejected.inc({ reason: 'outbox_full' });
      log.error('outbox full: notification refused (Alertmanager will retry)', {
        undelivered: outbox.depth(),
        max: config.outbox_max_entries,
        status: message.payload.status,
        alertname: message.payload.commonLabels.alertname,
      });
      return { status: 503, body: { error: `outbox full: ${outbox.depth()} undelivered notifications` } };
    }
    return { status: 200, body: { status: 'accepted', id: result.entry.id, channels: targets } };
  };

  // Dead-man's switch.
  let lastBeat: number | undefined;
  let silent = false;
  const beat = () => {
    const now = Date.now();
    lastBeat = now;
    metrics.lastHeartbeat.set(now / 1000);
    if (silent) {
      silent = false;
      log.info('heartbeat is back: the monitoring pipeline works again');
      enqueue(pipelineNotification('resolved', now, config.heartbeat.timeout, now), allNames);
    }
  };
  const checkEvery = Math.max(20, Math.min(config.heartbeat.timeout / 4, 10_000));
  const heartbeatTimer = setInterval(() => {
    if (lastBeat === undefined || silent) return;
    const now = Date.now();
    if (now - lastBeat > config.heartbeat.timeout) {
      silent = true;
      log.error('no heartbeat from Alertmanager: the monitoring pipeline is silent', {
        last_heartbeat: new Date(lastBeat).toISOString(),
      });
      enqueue(pipelineNotification('firing', lastBeat, config.heartbeat.timeout, now), allNames);
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
    try {
      return enqueue({ payload }, route(payload, channels, matchers), hash);
    } catch (err) {
      log.error('outbox write failed', { err });
      return { status: 500, body: { error: `outbox write failed: ${(err as Error).message}` } };
    }
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

  const delivery = new Delivery(outbox, channels, metrics, log, opts.delivery);
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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      force.unref();
      await Promise.all([closed, delivery.stop()]);
      clearTimeout(force);
      outbox.close();
      log.info('notifier stopped', { undelivered: outbox.depth() });
    })());

  return { address, url: `http://${hostText}:${address.port}`, outbox, metrics, close };
}
