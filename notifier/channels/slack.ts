import { IncomingWebhook, IncomingWebhookHTTPError, type IncomingWebhookSendArguments } from '@slack/webhook';
import type { Secret } from '../../internal/secret.js';
import type { Notification } from '../outbox.js';
import { renderSlack, type RenderOptions } from '../render.js';
import { renderFailed, tlsCertificateError, type Channel, type SendResult } from './channel.js';

/**
 * Slack through an incoming webhook (@slack/webhook). The library reports an HTTP error
 * as IncomingWebhookHTTPError with statusCode and body but drops the response headers, so
 * the fetch it is given records Retry-After. The library's own retries are off: retrying
 * is the outbox's job, with backoff that survives a restart.
 *
 * Slack's answers (https://api.slack.com/messaging/webhooks#handling_errors):
 * 200 "ok"; 400 invalid_payload / no_text; 403 invalid_token / action_prohibited;
 * 404 no_service / channel_not_found; 410 channel_is_archived; 429 with Retry-After; 5xx.
 */
export class SlackChannel implements Channel {
  readonly type = 'slack' as const;

  constructor(
    readonly name: string,
    readonly severities: readonly string[] | undefined,
    private readonly webhookUrl: Secret,
    private readonly render: RenderOptions,
    private readonly timeoutMs = 15_000,
  ) {}

  async send(message: Notification, signal: AbortSignal): Promise<SendResult> {
    let retryAfter: string | null = null;
    const fetchFn: typeof fetch = async (input, init) => {
      const signals = [signal, ...(init?.signal ? [init.signal] : [])];
      const res = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
      retryAfter = res.headers.get('retry-after');
      return res;
    };
    const webhook = new IncomingWebhook(this.webhookUrl.reveal(), {
      fetch: fetchFn,
      timeout: this.timeoutMs,
    });
    let body: IncomingWebhookSendArguments;
    try {
      // render.ts builds plain Block Kit JSON; its shape is asserted by tests against the fake Slack.
      body = renderSlack(message.payload, {
        ...this.render,
        now: new Date(),
        current: message.current,
      }) as unknown as IncomingWebhookSendArguments;
    } catch (err) {
      return renderFailed(err);
    }
    try {
      await webhook.send(body);
      return { ok: true };
    } catch (err) {
      if (err instanceof IncomingWebhookHTTPError) return classifyHttp(err.statusCode, err.body, retryAfter);
      if (signal.aborted) return { ok: false, retryable: true, reason: 'aborted' };
      // A request error's message may carry the cause; the URL is a known secret and is redacted in logs.
      const cause = (err as { original?: Error }).original ?? (err as Error);
      const cert = tlsCertificateError(cause);
      if (cert)
        return { ok: false, retryable: false, reason: 'tls_certificate', detail: networkDetail(cause) };
      const timeout = cause.name === 'TimeoutError' || cause.name === 'AbortError';
      return {
        ok: false,
        retryable: true,
        reason: timeout ? 'timeout' : 'network',
        detail: networkDetail(cause),
      };
    }
  }
}

function networkDetail(err: Error): string {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return code ? `${err.message} (${code})` : err.message;
}

const PERMANENT_BODIES = new Set([
  'invalid_payload',
  'invalid_blocks',
  'invalid_blocks_format',
  'no_text',
  'invalid_token',
  'no_service',
  'no_team',
  'channel_not_found',
  'channel_is_archived',
  'action_prohibited',
  'posting_to_general_channel_denied',
  'team_disabled',
  'user_not_found',
]);

/**
 * The longest Retry-After honoured: 1 hour. A larger one (say 3000000 s) would overflow
 * Node's 32-bit timer into a 1 ms busy loop; delivery caps it further at retry.cap.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Parses Retry-After: seconds, or an HTTP date; capped at MAX_RETRY_AFTER_MS. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

export function classifyHttp(status: number, body: string, retryAfter: string | null): SendResult {
  const text = body.trim().slice(0, 100);
  const code = /^[a-z_]+$/.test(text) ? text : undefined;
  const detail = `HTTP ${status}${text ? `: ${text}` : ''}`;
  if (status === 429) {
    const ms = parseRetryAfter(retryAfter);
    return {
      ok: false,
      retryable: true,
      reason: 'rate_limited',
      detail,
      ...(ms !== undefined ? { retryAfterMs: ms } : {}),
    };
  }
  if (status >= 500 || status === 408) return { ok: false, retryable: true, reason: 'server_error', detail };
  const reason =
    code && PERMANENT_BODIES.has(code) ? code : `http_${status >= 400 && status < 500 ? '4xx' : 'other'}`;
  return { ok: false, retryable: false, reason, detail };
}
