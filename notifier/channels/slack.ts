import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Secret } from '../../internal/secret.js';
import type { Notification } from '../outbox.js';
import { renderSlack, type RenderOptions } from '../render.js';
import { renderFailed, tlsCertificateError, type Channel, type SendResult } from './channel.js';

/** Slack answers "ok" or an error code; more than this is not read (the connection is closed). */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Where a channel posts: the parsed webhook URL and its keep-alive connection. */
interface Endpoint {
  url: URL;
  agent: HttpAgent;
  https: boolean;
}

/**
 * Slack through an incoming webhook: one POST of the rendered Block Kit JSON over a
 * keep-alive connection (one per channel: the channel's worker sends one message at a
 * time). node:http rather than fetch: a send creates no AbortSignal chain, no web stream and
 * no retry wrapper, which made each delivery cost the event loop (that answers Alertmanager)
 * several times more CPU, and kept timers and signals alive for the whole timeout. Retrying
 * is the outbox's job, with backoff that survives a restart. The timeout covers the whole
 * exchange, the answer's body included, and the body is read up to MAX_ANSWER_BYTES.
 *
 * Slack's answers (https://api.slack.com/messaging/webhooks#handling_errors):
 * 200 "ok"; 400 invalid_payload / no_text; 403 invalid_token / action_prohibited;
 * 404 no_service / channel_not_found; 410 channel_is_archived; 429 with Retry-After; 5xx.
 * A redirect is not followed (a webhook URL that redirects is wrong): a permanent failure.
 */
export class SlackChannel implements Channel {
  readonly type = 'slack' as const;
  #target: Endpoint | undefined;

  constructor(
    readonly name: string,
    readonly severities: readonly string[] | undefined,
    private readonly webhookUrl: Secret,
    private readonly render: RenderOptions,
    private readonly timeoutMs = 15_000,
  ) {}

  /** Parsed on first use: a bad URL is a failed send (the config checks it), never a crash. */
  #endpoint(): Endpoint {
    if (this.#target) return this.#target;
    const url = new URL(this.webhookUrl.reveal());
    const https = url.protocol === 'https:';
    if (!https && url.protocol !== 'http:') throw new Error(`unsupported URL scheme ${url.protocol}`);
    const options = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1, timeout: 60_000 };
    this.#target = { url, https, agent: https ? new HttpsAgent(options) : new HttpAgent(options) };
    return this.#target;
  }

  send(message: Notification, signal: AbortSignal): Promise<SendResult> {
    let body: Buffer;
    try {
      // render.ts builds plain Block Kit JSON; its shape is asserted by tests against the fake Slack.
      body = Buffer.from(
        JSON.stringify(
          renderSlack(message.payload, { ...this.render, now: new Date(), current: message.current }),
        ),
      );
    } catch (err) {
      return Promise.resolve(renderFailed(err));
    }
    if (signal.aborted) return Promise.resolve({ ok: false, retryable: true, reason: 'aborted' });
    let endpoint: Endpoint;
    try {
      endpoint = this.#endpoint();
    } catch (err) {
      return Promise.resolve({
        ok: false,
        retryable: false,
        reason: 'invalid_url',
        detail: (err as Error).message,
      });
    }
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const req = (endpoint.https ? httpsRequest : httpRequest)(endpoint.url, {
        method: 'POST',
        agent: endpoint.agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': body.length,
          'User-Agent': 'watchpost-notifier',
        },
      });
      const onAbort = () => {
        req.destroy();
        finish({ ok: false, retryable: true, reason: 'aborted' });
      };
      const timer = setTimeout(() => {
        req.destroy();
        finish({
          ok: false,
          retryable: true,
          reason: 'timeout',
          detail: `no answer within ${this.timeoutMs} ms`,
        });
      }, this.timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(requestFailed(err, signal)));
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          if (status >= 200 && status < 300) return finish({ ok: true });
          const text = Buffer.concat(chunks).toString('utf8');
          const retryAfter = res.headers['retry-after'];
          finish(classifyHttp(status, text, typeof retryAfter === 'string' ? retryAfter : null));
        };
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            // Slack's answers are a few bytes: stop reading, and do not reuse this connection.
            req.destroy();
            done();
          }
        });
        res.on('end', done);
        res.on('error', (err) => finish(requestFailed(err, signal)));
        res.on('aborted', () =>
          finish({
            ok: false,
            retryable: true,
            reason: 'network',
            detail: 'connection closed during the answer',
          }),
        );
      });
      req.end(body);
    });
  }

  close(): void {
    this.#target?.agent.destroy();
    this.#target = undefined;
  }
}

/** A request that got no answer: a certificate failure is permanent, anything else is retried. */
function requestFailed(err: Error, signal: AbortSignal): SendResult {
  if (signal.aborted) return { ok: false, retryable: true, reason: 'aborted' };
  const cert = tlsCertificateError(err);
  if (cert) return { ok: false, retryable: false, reason: 'tls_certificate', detail: networkDetail(err) };
  return { ok: false, retryable: true, reason: 'network', detail: networkDetail(err) };
}

/** The error's message with its code; Node's network errors name the host and port, never the path. */
function networkDetail(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
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
