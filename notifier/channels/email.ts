import type { Secret } from '../../internal/secret.js';
import type { Notification } from '../outbox.js';
import { renderEmail, type RenderOptions } from '../render.js';
import { renderFailed, tlsCertificateError, type Channel, type SendResult } from './channel.js';

export interface EmailSettings {
  host: string;
  port: number;
  /** TLS from the first byte (SMTPS). */
  secure: boolean;
  /** Require STARTTLS (ignored when secure). */
  starttls: boolean;
  tls_verify: boolean;
  username?: string | undefined;
  password_file?: Secret | undefined;
  from: string;
  to: string[];
}

/** Network-level failures worth another try (nodemailer's error codes). */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROTOCOL',
  'ECONNREFUSED',
]);

/**
 * Email over SMTP with nodemailer: STARTTLS required by default (or TLS from the start),
 * auth with the password from its secret file. A connection failure and a 4xx reply
 * (the server's "try again later") are retried; a 5xx reply is permanent.
 */
export class EmailChannel implements Channel {
  readonly type = 'email' as const;

  constructor(
    readonly name: string,
    readonly severities: readonly string[] | undefined,
    private readonly settings: EmailSettings,
    private readonly render: RenderOptions,
    private readonly timeoutMs = 30_000,
  ) {}

  async send(message: Notification, signal: AbortSignal): Promise<SendResult> {
    const s = this.settings;
    // Loaded on the first email: a notifier without an email channel never pays its memory.
    const nodemailer = (await import('nodemailer')).default;
    const transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: !s.secure && s.starttls,
      ignoreTLS: !s.secure && !s.starttls,
      tls: { rejectUnauthorized: s.tls_verify },
      ...(s.username ? { auth: { user: s.username, pass: s.password_file?.reveal() ?? '' } } : {}),
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
    });
    let mail;
    try {
      mail = renderEmail(message.payload, { ...this.render, now: new Date(), current: message.current });
    } catch (err) {
      transport.close();
      return renderFailed(err);
    }
    const onAbort = () => transport.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await transport.sendMail({
        from: s.from,
        to: s.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
      return { ok: true };
    } catch (err) {
      return classifySmtp(err);
    } finally {
      signal.removeEventListener('abort', onAbort);
      transport.close();
    }
  }
}

export function classifySmtp(err: unknown): SendResult {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const detail = (e.message ?? String(err)).split('\n')[0]!.slice(0, 300);
  if (typeof e.responseCode === 'number') {
    const retryable = e.responseCode >= 400 && e.responseCode < 500;
    const reason = e.code === 'EAUTH' ? 'auth_failed' : retryable ? 'smtp_4xx' : 'smtp_5xx';
    return { ok: false, retryable, reason, detail: `SMTP ${e.responseCode}: ${detail}` };
  }
  const cert = tlsCertificateError(err);
  if (cert) return { ok: false, retryable: false, reason: 'tls_certificate', detail };
  if (e.code && TRANSIENT_CODES.has(e.code)) return { ok: false, retryable: true, reason: 'network', detail };
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH')
    return { ok: false, retryable: false, reason: 'auth_failed', detail };
  if (e.code === 'EENVELOPE') return { ok: false, retryable: false, reason: 'invalid_address', detail };
  // Unknown: retry (bounded by backoff); a lost page is worse than a late one.
  return { ok: false, retryable: true, reason: 'other', detail };
}
