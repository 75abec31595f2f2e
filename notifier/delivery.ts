import type { Logger } from '../internal/log.js';
import { matchesAll, type Matcher } from '../internal/matchers.js';
import type { Channel, SendResult } from './channels/channel.js';
import type { NotifierMetrics } from './metrics.js';
import type { Notification, Outbox, OutboxEntry } from './outbox.js';
import type { WebhookPayload } from './payload.js';

export interface DeliveryOptions {
  /** First retry waits up to this long (full jitter). */
  backoffBaseMs?: number;
  /** No retry waits longer than this, unless the server's Retry-After says so. */
  backoffCapMs?: number;
  /** One send is abandoned (and retried) after this long. */
  sendTimeoutMs?: number;
  /** Attempts per entry and channel before it is given up on. */
  maxAttempts?: number;
  /** An entry not delivered this long after it was accepted is given up on. */
  maxAgeMs?: number;
  /** Fills in what is true now (resolved alerts' current values) before a send; must not throw. */
  enrich?: (message: Notification, signal: AbortSignal) => Promise<Notification>;
  now?: () => number;
}

/** The longest single timer Node keeps (2^31 - 1 ms); longer ones fire after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

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

/** Per entry and channel: how often it failed and when it may be tried again. */
interface RetryState {
  attempts: number;
  nextAt: number;
}

/**
 * Delivers from the outbox: one worker per channel, so a channel that is down (or
 * rate-limiting) is retried by one loop rather than hammered by many, and a Slack outage
 * does not hold up email. Each worker sends the oldest entry that is ready:
 *
 * - a retryable failure puts that entry back with its own backoff, and pauses the channel
 *   for max(Retry-After, backoff by the channel's consecutive failures), both capped: the
 *   next attempt is the oldest ready entry, so one entry that keeps failing never blocks
 *   the ones behind it;
 * - a permanent failure (or a render error) is recorded and never retried;
 * - an entry is given up on after `maxAttempts` attempts or `maxAgeMs` after it was
 *   accepted (as Alertmanager gives up on a notification), and recorded as failed_permanent;
 * - an entry whose group has a newer notification waiting is dropped ("superseded"):
 *   Alertmanager sends a group's whole state each time, so a resolved message replaces the
 *   undelivered firing one, and a resolved message never goes out before its firing one.
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
  readonly #maxAttempts: number;
  readonly #maxAge: number;
  readonly #now: () => number;
  readonly #retry = new Map<string, Map<string, RetryState>>();

  constructor(
    private readonly outbox: Outbox,
    private readonly channels: Channel[],
    private readonly metrics: NotifierMetrics,
    private readonly log: Logger,
    private readonly opts: DeliveryOptions = {},
  ) {
    this.#base = opts.backoffBaseMs ?? 1000;
    this.#cap = Math.min(opts.backoffCapMs ?? 300_000, MAX_TIMER_MS);
    this.#timeout = opts.sendTimeoutMs ?? 60_000;
    this.#maxAttempts = opts.maxAttempts ?? 50;
    this.#maxAge = opts.maxAgeMs ?? 3_600_000;
    this.#now = opts.now ?? Date.now;
  }

  start(): void {
    for (const ch of this.channels) {
      this.#retry.set(ch.name, new Map());
      this.#workers.push(this.#worker(ch));
    }
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

  /** Resolves on new work, on stop, or after `ms`. */
  #wait(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        this.outbox.off('enqueue', done);
        this.#stop.signal.removeEventListener('abort', done);
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.outbox.on('enqueue', done);
      this.#stop.signal.addEventListener('abort', done, { once: true });
      if (ms !== undefined) timer = setTimeout(done, Math.max(1, Math.min(ms, MAX_TIMER_MS)));
    });
  }

  /** Sleeps `ms` (capped), or until stop. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#stop.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, Math.min(ms, MAX_TIMER_MS)));
      this.#stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  #giveUp(ch: Channel, entry: OutboxEntry, reason: string, detail: string): void {
    this.outbox.markDone(entry.id, ch.name, 'failed_permanent');
    this.#retry.get(ch.name)?.delete(entry.id);
    this.metrics.notifications.inc({ channel: ch.name, result: 'failed_permanent' });
    this.metrics.failures.inc({ channel: ch.name, reason });
    this.log.error('notification given up on; not retried', {
      channel: ch.name,
      id: entry.id,
      title: entry.title,
      reason,
      detail,
    });
  }

  /** The oldest entry for `ch` that may be sent now, or when the next one will be ready. */
  #pick(ch: Channel): { entry?: OutboxEntry; readyIn?: number } {
    const now = this.#now();
    const retries = this.#retry.get(ch.name)!;
    let readyIn: number | undefined;
    const drop: [OutboxEntry, 'superseded' | 'expired'][] = [];
    let found: OutboxEntry | undefined;
    // Only the entries waiting for this channel; those in their backoff are skipped.
    for (const entry of this.outbox.waitingFor(ch.name)) {
      if (this.outbox.isSuperseded(entry, ch.name)) {
        drop.push([entry, 'superseded']);
        continue;
      }
      if (now - entry.at > this.#maxAge) {
        drop.push([entry, 'expired']);
        continue;
      }
      const r = retries.get(entry.id);
      if (r && r.nextAt > now) {
        readyIn = Math.min(readyIn ?? Infinity, r.nextAt - now);
        continue;
      }
      found = entry;
      break;
    }
    // Recorded after the walk: markDone changes the live set.
    for (const [entry, why] of drop) {
      if (why === 'superseded') {
        this.outbox.markDone(entry.id, ch.name, 'superseded');
        retries.delete(entry.id);
        this.metrics.notifications.inc({ channel: ch.name, result: 'superseded' });
        this.log.info('notification replaced by a newer one of its group before it was delivered', {
          channel: ch.name,
          id: entry.id,
          title: entry.title,
        });
      } else {
        const attempts = retries.get(entry.id)?.attempts ?? 0;
        this.#giveUp(
          ch,
          entry,
          'expired',
          `not delivered within max_delivery_age (${Math.round(this.#maxAge / 1000)}s, ${attempts} attempts)`,
        );
      }
    }
    return found ? { entry: found } : readyIn !== undefined ? { readyIn } : {};
  }

  async #worker(ch: Channel): Promise<void> {
    const stop = this.#stop.signal;
    const retries = this.#retry.get(ch.name)!;
    /** Consecutive retryable failures on this channel, whatever the entry. */
    let failures = 0;
    while (!stop.aborted) {
      try {
        this.outbox.flushPending();
        const { entry, readyIn } = this.#pick(ch);
        if (!entry) {
          await this.#wait(readyIn);
          continue;
        }
        const result = await this.#sendOnce(ch, entry);
        // A finished send is recorded even while stopping; the loop condition then ends the worker.
        const state = retries.get(entry.id) ?? { attempts: 0, nextAt: 0 };
        state.attempts++;
        const fields = { channel: ch.name, id: entry.id, title: entry.title };
        if (result.ok) {
          this.outbox.markDone(entry.id, ch.name, 'delivered');
          retries.delete(entry.id);
          this.metrics.notifications.inc({ channel: ch.name, result: 'delivered' });
          this.log.info('notification delivered', { ...fields, attempts: state.attempts });
          failures = 0;
          continue;
        }
        if (!result.retryable) {
          this.#giveUp(ch, entry, result.reason, result.detail ?? 'permanent error');
          continue;
        }
        this.metrics.failures.inc({ channel: ch.name, reason: result.reason });
        if (state.attempts >= this.#maxAttempts) {
          this.#giveUp(
            ch,
            entry,
            'max_attempts',
            `${state.attempts} attempts failed; the last: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`,
          );
          continue;
        }
        this.metrics.notifications.inc({ channel: ch.name, result: 'retried' });
        if (stop.aborted) return; // shutting down: the entry stays in the outbox for the next start
        // The entry waits its own backoff; the channel pauses by its consecutive failures (and
        // Retry-After), so a channel that is down sees one attempt per pause.
        state.nextAt = this.#now() + backoffDelay(state.attempts - 1, this.#base, this.#cap);
        retries.set(entry.id, state);
        // Retry-After arrives capped (MAX_RETRY_AFTER_MS); it may exceed retry.cap, as Slack asks.
        const pause = Math.max(result.retryAfterMs ?? 0, backoffDelay(failures, this.#base, this.#cap));
        failures++;
        this.log.warn('notification delivery failed; will retry', {
          ...fields,
          reason: result.reason,
          detail: result.detail,
          attempt: state.attempts,
          retry_in_ms: Math.max(pause, state.nextAt - this.#now()),
        });
        await this.#pause(pause);
      } catch (err) {
        // Never let the worker die: log and go on after a pause.
        this.log.error('delivery worker error; continuing', { channel: ch.name, err });
        await this.#pause(this.#base);
      }
    }
  }

  async #sendOnce(ch: Channel, entry: OutboxEntry): Promise<SendResult> {
    const end = this.metrics.duration.startTimer({ channel: ch.name });
    let stored: Notification;
    try {
      stored = entry.message;
    } catch (err) {
      // Read back from the outbox file: an I/O error may pass, so it is retried.
      end();
      return { ok: false, retryable: true, reason: 'outbox_read', detail: (err as Error).message };
    }
    // One controller per send, its timer cleared as soon as the send ends. (AbortSignal.any of
    // the stop signal and an AbortSignal.timeout kept a timer and two signals alive for the
    // whole timeout after every send: tens of thousands at a thousand deliveries a second.)
    const send = new AbortController();
    const abort = () => send.abort();
    const timer = setTimeout(abort, this.#timeout);
    const stopping = this.#abortSends.signal;
    if (stopping.aborted) send.abort();
    else stopping.addEventListener('abort', abort, { once: true });
    try {
      const message = this.opts.enrich ? await this.opts.enrich(stored, send.signal) : stored;
      return await ch.send(message, send.signal);
    } catch (err) {
      // A channel that throws (instead of returning a result) would throw again: not retried.
      return { ok: false, retryable: false, reason: 'exception', detail: (err as Error).message };
    } finally {
      clearTimeout(timer);
      stopping.removeEventListener('abort', abort);
      end();
    }
  }
}
