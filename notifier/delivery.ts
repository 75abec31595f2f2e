import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../config/log.js';
import { matchesAll, type Matcher } from '../config/matchers.js';
import type { Channel, SendResult } from './channels/channel.js';
import type { NotifierMetrics } from './metrics.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import type { WebhookPayload } from './payload.js';

export interface DeliveryOptions {
  /** First retry waits up to this long (full jitter). */
  backoffBaseMs?: number;
  /** No retry waits longer than this, unless the server's Retry-After says so. */
  backoffCapMs?: number;
  /** One send is abandoned (and retried) after this long. */
  sendTimeoutMs?: number;
}

/** What routing needs to know about a channel. */
export interface RouteTarget {
  readonly name: string;
  /** Severities routed here; undefined for all. */
  readonly severities: readonly string[] | undefined;
}

/**
 * The channels a notification goes to: those for which one of its alerts has a matching
 * severity (any, for a channel without severities) and matches all of the channel's
 * matchers (`notifier.channels[].matchers`, by channel name). An alert's labels are read
 * together with the payload's commonLabels; a payload without alerts is routed by its
 * commonLabels alone.
 */
export function route(
  payload: WebhookPayload,
  channels: readonly RouteTarget[],
  matchers: ReadonlyMap<string, readonly Matcher[] | undefined> = new Map(),
): string[] {
  const labelSets =
    payload.alerts.length > 0
      ? payload.alerts.map((a) => ({ ...payload.commonLabels, ...a.labels }))
      : [payload.commonLabels];
  return channels
    .filter((c) => {
      const ms = matchers.get(c.name);
      return labelSets.some(
        (labels) =>
          (c.severities === undefined ||
            (labels.severity !== undefined && c.severities.includes(labels.severity))) &&
          matchesAll(ms, labels),
      );
    })
    .map((c) => c.name);
}

/**
 * "Exponential backoff and full jitter" (AWS Architecture Blog, 2015): a random wait in
 * [0, min(cap, base·2^attempt)], so many notifiers recovering together do not retry in step.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}

/**
 * Delivers from the outbox: one worker per channel, oldest entry first, so a resolved
 * message never overtakes its firing one and a channel that is down (or rate-limiting)
 * is retried by one loop rather than hammered by many. A permanent failure is recorded
 * and the worker moves on; a retryable one waits max(Retry-After, backoff) and tries again.
 */
export class Delivery {
  /** Stops taking new work and ends backoff waits. */
  readonly #stop = new AbortController();
  /** Aborts sends still under way once the drain time is over. */
  readonly #abortSends = new AbortController();
  readonly #workers: Promise<void>[] = [];
  readonly #base: number;
  readonly #cap: number;
  readonly #timeout: number;

  constructor(
    private readonly outbox: Outbox,
    private readonly channels: Channel[],
    private readonly metrics: NotifierMetrics,
    private readonly log: Logger,
    opts: DeliveryOptions = {},
  ) {
    this.#base = opts.backoffBaseMs ?? 1000;
    this.#cap = opts.backoffCapMs ?? 300_000;
    this.#timeout = opts.sendTimeoutMs ?? 60_000;
  }

  start(): void {
    for (const ch of this.channels) this.#workers.push(this.#worker(ch));
  }

  /**
   * Graceful stop: no new sends, and a send under way may finish (up to `drainMs`) so its
   * result is recorded. Aborting it instead would let a message that Slack already
   * accepted be sent again after the restart; only a kill -9 may cause that.
   */
  async stop(drainMs = 10_000): Promise<void> {
    this.#stop.abort();
    const force = setTimeout(() => this.#abortSends.abort(), drainMs);
    await Promise.all(this.#workers);
    clearTimeout(force);
    await Promise.all(this.channels.map((c) => c.close?.()));
  }

  #waitForWork(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.outbox.off('enqueue', done);
        this.#stop.signal.removeEventListener('abort', done);
        resolve();
      };
      this.outbox.on('enqueue', done);
      this.#stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  async #worker(ch: Channel): Promise<void> {
    const stop = this.#stop.signal;
    let attempt = 0;
    while (!stop.aborted) {
      const entry = this.outbox.nextFor(ch.name);
      if (!entry) {
        await this.#waitForWork();
        continue;
      }
      const result = await this.#sendOnce(ch, entry);
      // A finished send is recorded even while stopping; the loop condition then ends the worker.
      const fields = { channel: ch.name, id: entry.id, title: titleOf(entry) };
      if (result.ok) {
        this.outbox.markDone(entry.id, ch.name, 'delivered');
        this.metrics.notifications.inc({ channel: ch.name, result: 'delivered' });
        this.log.info('notification delivered', { ...fields, attempts: attempt + 1 });
        attempt = 0;
        continue;
      }
      this.metrics.failures.inc({ channel: ch.name, reason: result.reason });
      if (!result.retryable) {
        this.outbox.markDone(entry.id, ch.name, 'failed_permanent');
        this.metrics.notifications.inc({ channel: ch.name, result: 'failed_permanent' });
        this.log.error('notification failed permanently; not retried', {
          ...fields,
          reason: result.reason,
          detail: result.detail,
        });
        attempt = 0;
        continue;
      }
      this.metrics.notifications.inc({ channel: ch.name, result: 'retried' });
      if (stop.aborted) return; // shutting down: the entry stays in the outbox for the next start
      const delay = Math.max(result.retryAfterMs ?? 0, backoffDelay(attempt, this.#base, this.#cap));
      attempt++;
      this.log.warn('notification delivery failed; will retry', {
        ...fields,
        reason: result.reason,
        detail: result.detail,
        attempt,
        retry_in_ms: delay,
      });
      try {
        await sleep(delay, undefined, { signal: stop });
      } catch {
        return;
      }
    }
  }

  async #sendOnce(ch: Channel, entry: OutboxEntry): Promise<SendResult> {
    const end = this.metrics.duration.startTimer({ channel: ch.name });
    const signal = AbortSignal.any([this.#abortSends.signal, AbortSignal.timeout(this.#timeout)]);
    try {
      return await ch.send(entry.message, signal);
    } catch (err) {
      return { ok: false, retryable: true, reason: 'exception', detail: (err as Error).message };
    } finally {
      end();
    }
  }
}

function titleOf(entry: OutboxEntry): string {
  const p = entry.message.payload;
  const name = p.groupLabels.alertname ?? p.commonLabels.alertname ?? `${p.alerts.length} alerts`;
  return `${p.status} ${name}`;
}
