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

/**
 * OpenSSL's certificate verification failures, as Node reports them in `err.code`: a
 * certificate that is expired, self-signed, for another host or from an unknown issuer is
 * the same on every attempt, so the send is not retried.
 */
const TLS_CERT_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
]);

/**
 * OpenSSL's messages for the same failures, for libraries that keep the message but not the
 * code (nodemailer reports `ESOCKET: certificate has expired`).
 */
const TLS_CERT_MESSAGE =
  /certificate has expired|certificate is not yet valid|self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|does not match certificate's altnames|certificate (revoked|rejected|not trusted)/i;

/** The certificate error in `err` or its causes (its code, or the message), if any. */
export function tlsCertificateError(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && TLS_CERT_CODES.has(e.code)) return e.code;
    if (typeof e.message === 'string' && TLS_CERT_MESSAGE.test(e.message)) return e.message;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** A message that cannot be rendered will not render on the next attempt either. */
export function renderFailed(err: unknown): SendResult {
  return { ok: false, retryable: false, reason: 'render_error', detail: (err as Error).message };
}
