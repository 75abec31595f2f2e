import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Secret } from '../../internal/secret.js';
import { formatMs, timeoutSignal, TimeoutError } from '../../internal/timeout.js';
import type { TextPattern } from '../../config/user-regex.js';

/**
 * Probes of the services an application depends on, after blackbox_exporter's `prober/`:
 * one function per kind in a map, each bounded by its own timeout. Unlike blackbox, a
 * failed probe says why (`reason`), from a fixed set so the series count stays bounded.
 *
 * node:http, node:https, node:net and node:tls are used directly rather than fetch, so
 * that errors can be told apart by their code (fetch wraps them all in "fetch failed")
 * and the peer certificate can be read for its expiry.
 */

export type ProbeKind = 'http' | 'https' | 'tcp';

export const FAILURE_REASONS = ['dns', 'connect', 'tls', 'timeout', 'status', 'body'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface ProbeResult {
  ok: boolean;
  /** Why the probe failed; absent when it succeeded. */
  reason?: FailureReason;
  /** What happened, for people: never holds a header value or a token. */
  message: string;
  durationSeconds: number;
  /** HTTP status of the response, when one arrived. */
  statusCode?: number;
  /** The peer certificate's notAfter, in Unix seconds, when a TLS handshake completed. */
  certNotAfter?: number;
}

/** What every probe has, whatever its kind. */
interface ProbeCommon {
  /** Status codes that count as up; any 2xx when undefined. */
  validStatus?: readonly number[];
  /** The user's pattern, compiled with the linear-time engine (config/user-regex.ts). */
  bodyRegex?: TextPattern;
  headers?: Readonly<Record<string, string>>;
  bearerToken?: Secret;
  /** The most bytes of body read to match bodyRegex (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  tlsVerify: boolean;
  timeoutMs: number;
}

/** An HTTP(S) GET of `url`. */
export interface HttpProbeTarget extends ProbeCommon {
  kind: 'http' | 'https';
  url: string;
}

/** A connection to host:port, with a TLS handshake when `tls`. */
export interface TcpProbeTarget extends ProbeCommon {
  kind: 'tcp';
  host: string;
  port: number;
  tls?: boolean;
}

export type ProbeTarget = HttpProbeTarget | TcpProbeTarget;

/** What a probe function reports; the runner adds the duration and the timeout. */
type Outcome = Omit<ProbeResult, 'durationSeconds'>;
type Prober<T extends ProbeTarget> = (target: T, abort: AbortSignal) => Promise<Outcome>;

/** Only this much of a body is read to match body_regex, unless configured otherwise. */
export const MAX_BODY_BYTES = 1024 * 1024;

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EADDRNOTAVAIL',
  'EHOSTDOWN',
  'ENETDOWN',
]);
/** OpenSSL's certificate verification codes, as Node reports them in `err.code`. */
const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|^EPROTO$|HOSTNAME_MISMATCH/;

/** Classifies a socket/request error. Anything unrecognised counts as a connection failure. */
export function classifyError(err: unknown): FailureReason {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (DNS_CODES.has(code)) return 'dns';
  if (CERT_CODE.test(code)) return 'tls';
  if (CONNECT_CODES.has(code)) return 'connect';
  const message = err instanceof Error ? err.message : '';
  if (/certificate|ssl|tls/i.test(message)) return 'tls';
  return 'connect';
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

/** Unix seconds of a certificate's valid_to ("Nov 23 04:58:14 2026 GMT"), if it parses. */
function notAfter(cert: PeerCertificate | undefined): number | undefined {
  if (!cert || !cert.valid_to) return undefined;
  const ms = Date.parse(cert.valid_to);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

function statusAccepted(code: number, valid: readonly number[] | undefined): boolean {
  return valid ? valid.includes(code) : code >= 200 && code <= 299;
}

const probeHttp: Prober<HttpProbeTarget> = (target, abort) =>
  new Promise<Outcome>((resolve) => {
    const url = new URL(target.url);
    const client = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'watchpost', ...target.headers };
    if (target.bearerToken) headers.authorization = `Bearer ${target.bearerToken.reveal()}`;
    let certNotAfter: number | undefined;
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      abort.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(certNotAfter === undefined ? outcome : { ...outcome, certNotAfter });
    };
    const req = client.request(url, {
      method: 'GET',
      headers,
      // No keep-alive pool: every probe opens and destroys its own socket.
      agent: false,
      rejectUnauthorized: target.tlsVerify,
    });
    const onAbort = () => finish({ ok: false, reason: 'timeout', message: abortMessage(abort) });
    abort.addEventListener('abort', onAbort, { once: true });
    req.once('socket', (socket) => {
      if (socket instanceof tls.TLSSocket) {
        socket.once('secureConnect', () => {
          certNotAfter = notAfter((socket as TLSSocket).getPeerCertificate());
        });
      }
    });
    req.on('error', (err) =>
      finish({ ok: false, reason: classifyError(err), message: `request failed: ${errorText(err)}` }),
    );
    req.once('response', (res) => {
      const statusCode = res.statusCode ?? 0;
      if (!statusAccepted(statusCode, target.validStatus)) {
        res.resume();
        const expected = target.validStatus ? target.validStatus.join(', ') : 'any 2xx';
        finish({
          ok: false,
          reason: 'status',
          statusCode,
          message: `HTTP ${statusCode}, expected ${expected}`,
        });
        return;
      }
      const regex = target.bodyRegex;
      if (!regex) {
        res.resume();
        finish({ ok: true, statusCode, message: `HTTP ${statusCode}` });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const limit = target.maxBodyBytes ?? MAX_BODY_BYTES;
      const check = () => {
        const body = Buffer.concat(chunks).subarray(0, limit).toString('utf8');
        if (regex.test(body)) finish({ ok: true, statusCode, message: `HTTP ${statusCode}, body matched` });
        else
          finish({
            ok: false,
            reason: 'body',
            statusCode,
            message: `HTTP ${statusCode}, but the body (${Buffer.byteLength(body)} bytes read) does not match body_regex`,
          });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        // The limit reached: match what was read and close the socket (finish destroys it).
        if (size >= limit) check();
      });
      res.once('end', check);
      res.on('error', (err) =>
        finish({
          ok: false,
          reason: classifyError(err),
          statusCode,
          message: `reading the body failed: ${errorText(err)}`,
        }),
      );
    });
    req.end();
  });

const probeTcp: Prober<TcpProbeTarget> = (target, abort) =>
  new Promise<Outcome>((resolve) => {
    const { host, port } = target;
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      abort.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const socket: net.Socket = target.tls
      ? tls.connect({
          host,
          port,
          // SNI takes a host name, never an IP address.
          servername: net.isIP(host) ? undefined : host,
          rejectUnauthorized: target.tlsVerify,
        })
      : net.connect({ host, port });
    const onAbort = () => finish({ ok: false, reason: 'timeout', message: abortMessage(abort) });
    abort.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) =>
      finish({ ok: false, reason: classifyError(err), message: `connection failed: ${errorText(err)}` }),
    );
    if (target.tls) {
      socket.once('secureConnect', () => {
        const certNotAfter = notAfter((socket as TLSSocket).getPeerCertificate());
        finish({
          ok: true,
          message: 'connected, TLS handshake done',
          ...(certNotAfter === undefined ? {} : { certNotAfter }),
        });
      });
    } else {
      socket.once('connect', () => finish({ ok: true, message: 'connected' }));
    }
  });

function abortMessage(signal: AbortSignal): string {
  const why = signal.reason instanceof Error ? signal.reason.message : 'aborted';
  return why;
}

/** The probe function of the target's kind, as blackbox_exporter's `Probers` map. */
function probe(target: ProbeTarget, abort: AbortSignal): Promise<Outcome> {
  return target.kind === 'tcp' ? probeTcp(target, abort) : probeHttp(target, abort);
}

/**
 * Runs one probe, bounded by `target.timeoutMs` (and `signal`, the collector's run). The
 * timer is always cleared and the socket always destroyed, whichever side wins. The
 * message never holds a header value or the bearer token: they are scrubbed from it.
 */
export async function runProbe(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const start = performance.now();
  const ms = target.timeoutMs;
  const abort = timeoutSignal(ms, signal, new TimeoutError(ms, `no answer within ${formatMs(ms)}`));
  try {
    let outcome: Outcome;
    try {
      outcome = abort.signal.aborted
        ? { ok: false, reason: 'timeout', message: abortMessage(abort.signal) }
        : await probe(target, abort.signal);
    } catch (err) {
      outcome = { ok: false, reason: classifyError(err), message: errorText(err) };
    }
    return {
      ...outcome,
      message: scrub(outcome.message, target),
      durationSeconds: (performance.now() - start) / 1000,
    };
  } finally {
    abort.clear();
  }
}

/** Replaces every header value and the token inside `message` with `<redacted>`. */
export function scrub(message: string, target: Pick<ProbeTarget, 'headers' | 'bearerToken'>): string {
  const hidden = [...Object.values(target.headers ?? {})];
  if (target.bearerToken) hidden.push(target.bearerToken.reveal());
  let out = message;
  for (const value of hidden.sort((a, b) => b.length - a.length)) {
    if (value.length > 0 && out.includes(value)) out = out.split(value).join('<redacted>');
  }
  return out;
}
