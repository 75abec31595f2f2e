import type { Notification } from '../outbox.js';

/**
 * One interface for every integration, after Alertmanager's notify.Notifier: the retry
 * decision is part of the result, made by the integration that understands its protocol.
 */
export type SendResult =
  | { ok: true }
  | {
      ok: false;
      retryable: boolean;
      /** A short fixed code (bounded: it becomes a metric label), e.g. "rate_limited", "invalid_token". */
      reason: string;
      /** Human detail for the log; never holds a secret. */
      detail?: string;
      /** The server asked to wait this long (HTTP Retry-After). */
      retryAfterMs?: number;
    };

export interface Channel {
  readonly name: string;
  readonly type: 'slack' | 'email' | 'log';
  /** Severities routed here; undefined for all. */
  readonly severities: readonly string[] | undefined;
  send(message: Notification, signal: AbortSignal): Promise<SendResult>;
  close?(): Promise<void> | void;
}
