import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the per-channel gauges show, computed from the outbox at scrape time. */
export interface OutboxStats {
  bytes: number;
  channels: Map<string, { depth: number; oldestAgeSeconds: number }>;
}

/** The notifier's own metrics, on a registry of its own (GET /metrics of the notifier). */
export class NotifierMetrics {
  readonly registry = new Registry();
  readonly notifications = new Counter({
    name: 'watchpost_notifier_notifications_total',
    help: 'Delivery attempts by channel and result: delivered, failed_permanent (given up), retried (will be tried again), superseded (replaced by a newer notification of its group before delivery).',
    labelNames: ['channel', 'result'],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'watchpost_notifier_failures_total',
    help: 'Failed delivery attempts by channel and reason (a short fixed code such as rate_limited, network or invalid_token).',
    labelNames: ['channel', 'reason'],
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'watchpost_notifier_rejected_total',
    help: 'Webhook requests not accepted for delivery, by reason: unauthorized, too_large, invalid, outbox_full, write_failed (the outbox could not be written), duplicate.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'watchpost_notifier_delivery_duration_seconds',
    help: 'Time one delivery attempt to a channel took, successful or not.',
    labelNames: ['channel'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly lastHeartbeat = new Gauge({
    name: 'watchpost_notifier_last_heartbeat_timestamp_seconds',
    help: 'Unix time of the last heartbeat (Watchdog) received from Alertmanager; 0 before the first.',
    registers: [this.registry],
  });
  readonly outboxDepth: Gauge;
  readonly outboxBytes: Gauge;
  readonly queueDepth: Gauge;
  readonly oldestAge: Gauge;

  constructor(depth: () => number, stats: () => OutboxStats = () => ({ bytes: 0, channels: new Map() })) {
    this.outboxDepth = new Gauge({
      name: 'watchpost_notifier_outbox_depth',
      help: 'Notifications accepted but not yet delivered to (or given up on by) every channel.',
      registers: [this.registry],
      collect() {
        this.set(depth());
      },
    });
    this.outboxBytes = new Gauge({
      name: 'watchpost_notifier_outbox_bytes',
      help: 'Bytes of the outbox records of notifications not yet delivered (bounded by outbox_max_bytes).',
      registers: [this.registry],
      collect() {
        this.set(stats().bytes);
      },
    });
    this.queueDepth = new Gauge({
      name: 'watchpost_notifier_queue_depth',
      help: 'Notifications waiting to be delivered to the channel (retries included).',
      labelNames: ['channel'],
      registers: [this.registry],
      collect() {
        for (const [channel, s] of stats().channels) this.set({ channel }, s.depth);
      },
    });
    this.oldestAge = new Gauge({
      name: 'watchpost_notifier_oldest_undelivered_age_seconds',
      help: 'Age of the oldest notification still waiting for the channel, since it was accepted; 0 when none waits.',
      labelNames: ['channel'],
      registers: [this.registry],
      collect() {
        for (const [channel, s] of stats().channels) this.set({ channel }, s.oldestAgeSeconds);
      },
    });
    for (const reason of ['unauthorized', 'too_large', 'invalid', 'outbox_full', 'write_failed', 'duplicate'])
      this.rejected.inc({ reason }, 0);
    this.lastHeartbeat.set(0);
  }

  /** Zero series for a channel, so rates and alerts work before the first event. */
  initChannel(channel: string): void {
    for (const result of ['delivered', 'failed_permanent', 'retried', 'superseded'])
      this.notifications.inc({ channel, result }, 0);
  }
}
