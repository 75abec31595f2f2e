import { compileUserRegex } from '../../config/user-regex.js';
import { coarseNow } from '../../internal/coarse-clock.js';
import { BoundedCounts } from './bounded-counts.js';
import { Starts, type LineStarts } from './line-splitter.js';

/**
 * Matching of log lines, one pure function per format: a line in, what it says about
 * authentication and HTTP answers out. Tested on fixture lines captured from the real
 * programs (fixtures/logs/*.txt: a .log would be git-ignored).
 *
 * These run on every line of every followed log, so each starts with cheap substring
 * tests (indexOf) and touches a regular expression only for the few lines that can match.
 * Results that carry no client are shared constants, so the common case allocates nothing.
 */

export type AuthResult = 'failure' | 'success';
export const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type CodeClass = (typeof CODE_CLASSES)[number];

export interface LineMatch {
  /** The line records an authentication attempt with this result. */
  auth?: AuthResult;
  /** How many attempts the line stands for (rsyslog's "message repeated N times"); 1 when absent. */
  count?: number;
  /** The client address of that attempt, when the line names one. */
  client?: string;
  /**
   * With `client`, when the matcher has read it: the client as ipv4Number gives it (-1
   * when it is not a canonical IPv4 address), so it is not read twice.
   */
  ipv4?: number;
  /** Format nginx: the class of the response status. */
  codeClass?: CodeClass;
  /** The line is not in the expected format (nginx, json). */
  parseError?: boolean;
}

/**
 * Returns what a line says, or undefined when it says nothing of interest. `prefilter`,
 * when set, says where a line must start to match at all (or change the matcher's
 * state): other lines are only counted, never decoded (see LineSplitter's Prefilter).
 * `matchAt`, when set, is the same matcher told where the line's message starts, as the
 * prefilter found it (see LineHandler): it then skips looking for it.
 */
export type LineMatcher = ((line: string) => LineMatch | undefined) & {
  prefilter?: LineStarts;
  matchAt?: (line: string, messageAt: number) => LineMatch | undefined;
};

const PARSE_ERROR: LineMatch = Object.freeze({ parseError: true });
const AUTH_FAILURE: LineMatch = Object.freeze({ auth: 'failure' });
const AUTH_SUCCESS: LineMatch = Object.freeze({ auth: 'success' });
const HTTP: Record<CodeClass, LineMatch> = {
  '1xx': Object.freeze({ codeClass: '1xx' }),
  '2xx': Object.freeze({ codeClass: '2xx' }),
  '3xx': Object.freeze({ codeClass: '3xx' }),
  '4xx': Object.freeze({ codeClass: '4xx' }),
  '5xx': Object.freeze({ codeClass: '5xx' }),
};

/**
 * A client as a label value: an IPv4/IPv6 address (IPv6 may start with ":", as "::1" or
 * "::ffff:203.0.113.81") or a host name (sshd with UseDNS), never free text. Anything
 * else is dropped (the attempt still counts).
 */
const CLIENT = /^(?:[A-Za-z0-9][A-Za-z0-9.:%_-]{0,252}|:[0-9A-Fa-f:.%]{1,252})$/;
export function cleanClient(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  return CLIENT.test(text) ? text : undefined;
}

/**
 * An IPv4 address in canonical dotted-quad form ("10.0.0.1": four numbers 0 to 255, no
 * leading zeros) as a number from 0 to 2^32 - 1, or -1 for any other text. The mapping is
 * one to one on canonical addresses, so the number can stand for the text as a Map key:
 * a number is hashed without allocating, where a string key built per line (and hashed,
 * and kept) was most of the cost of the state maps on a log from many clients.
 */
export function ipv4Number(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? n * 256 + part : -1;
}

/** The dotted quad of a number from ipv4Number: ipv4Text(ipv4Number(s)) === s for a canonical address. */
export function ipv4Text(n: number): string {
  return `${Math.floor(n / 16777216)}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

/** The port of an sshd line ("22", no leading zero) as a number, or -1. */
function portNumber(port: string): number {
  if (port.length === 0 || port.length > 5 || (port.length > 1 && port.charCodeAt(0) === 48)) return -1;
  let n = 0;
  for (let i = 0; i < port.length; i++) {
    const c = port.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** A client and port as an sshd line names them. */
interface Where {
  /** The client as a label value (see cleanClient), or undefined. */
  client: string | undefined;
  /** The client as ipv4Number gives it: -1 when it is not a canonical IPv4 address. */
  ip: number;
  /** The port's digits, or '' when the line names none. */
  port: string;
  /**
   * The connection's key in the matcher's state (when `client` is set): a number for an
   * IPv4 client and a port (no string is built), the text "<client> <port>" otherwise.
   */
  key: number | string;
  /** Where " from " is in the message (fromClientPort). */
  at: number;
}

/** The client of `text` and the connection's key, the address read once. */
function where(text: string, port: string, at: number): Where {
  const ip = ipv4Number(text);
  // A canonical IPv4 address is a clean client: the check by pattern is for the rest.
  const client = ip >= 0 ? text : cleanClient(text);
  const p = ip >= 0 ? portNumber(port) : -1;
  return { client, ip, port, key: p >= 0 ? ip * 100_000 + p : `${client} ${port}`, at };
}

/** An attempt's result; `ipv4` as ipv4Number gives it for `client`, when read already. */
function auth(result: AuthResult, client: string | undefined, count = 1, ipv4?: number): LineMatch {
  if (client === undefined)
    return count !== 1 ? { auth: result, count } : result === 'failure' ? AUTH_FAILURE : AUTH_SUCCESS;
  const ip = ipv4 ?? ipv4Number(client);
  return count !== 1 ? { auth: result, client, ipv4: ip, count } : { auth: result, client, ipv4: ip };
}

/** Programs whose lines are sshd's: OpenSSH 9.8 moved authentication into sshd-session, 10.0 into sshd-auth. */
const SSHD_PROGRAMS = ['sshd', 'sshd-session', 'sshd-auth'];

/**
 * Where sshd's message starts in a line, or -1 when the line is not sshd's. A syslog,
 * journald or rsyslog line names its program before the first ": " (`host sshd[123]: `);
 * only sshd's lines count, so a local user cannot plant "Failed password for root from
 * 6.6.6.6" through sudo, su or logger under another name. A bare line (sshd -e writing to
 * a container's stdout) starts with the message itself.
 */
export function sshdMessageStart(line: string, messageAt = -1): number {
  let colon: number;
  if (messageAt >= 2) {
    // The prefilter found the first ": " (at messageAt - 2), and no bare start (see
    // SSHD_PREFILTER): what the two tests below would find.
    colon = messageAt - 2;
  } else {
    // A bare message starts with a capital letter or "error: " / "maximum ...": a syslog
    // line starts with a digit or a month, so most lines skip the list.
    if (SSHD_BARE.test(line)) return 0;
    colon = line.indexOf(': ');
    if (colon < 0) return -1;
  }
  const tagStart = lastSpace(line, 0, colon - 1) + 1;
  // The tag is "<program>" or "<program>[<pid>]" (the program ends at the tag's first "["):
  // compared in place, without slicing it. No program name has a "[" in it.
  const bracketed = line.charCodeAt(colon - 1) === 93; /* ] */
  for (const p of SSHD_PROGRAMS) {
    const end = tagStart + p.length;
    if ((bracketed ? line.charCodeAt(end) === 91 /* [ */ : end === colon) && line.startsWith(p, tagStart))
      return colon + 2;
  }
  return -1;
}
/**
 * The end of a connection's attempts before authentication, as sshd writes it: the
 * connection is named "authenticating user <user> <ip> port <n>" or "invalid user <user>
 * <ip> port <n>" (OpenSSH's sshpkt_fmt_connection_id); a connection closed without a user
 * ("Connection reset by <ip> port <n>") made no attempt.
 */
const END_OF_ATTEMPTS = [
  'Connection closed by authenticating user ',
  'Connection closed by invalid user ',
  'Connection reset by authenticating user ',
  'Connection reset by invalid user ',
  'Disconnected from authenticating user ',
  'Disconnected from invalid user ',
];
const SSHD_BARE_STARTS = [
  'Failed ',
  'Invalid user ',
  'Accepted ',
  'error: ',
  'PAM: ',
  'maximum authentication attempts exceeded',
  ...END_OF_ATTEMPTS,
];
const SSHD_BARE = new Starts(SSHD_BARE_STARTS);
const SSHD_END_OF_ATTEMPTS = new Starts(END_OF_ATTEMPTS);

/**
 * The sshd matcher's prefilter, from the matcher's own rules: a line means something only
 * when it starts with one of SSHD_BARE_STARTS (sshdMessageStart returns 0) or the text
 * after its first ": " does (its message, where `message` and the "message repeated"
 * unwrapping look: every message they act on starts with one of these). Lines of other
 * programs pass too when their message starts so; the matcher turns them down.
 */
const SSHD_PREFILTER: LineStarts = {
  starts: [...SSHD_BARE_STARTS, 'message repeated '],
  after: ': ',
};

/**
 * The last space in text[from, to], or from - 1: found from `to` backwards over the few
 * characters of a word, where lastIndexOf is a call into the engine's runtime.
 */
function lastSpace(text: string, from: number, to: number): number {
  let i = to;
  while (i >= from && text.charCodeAt(i) !== 32) i--;
  return i < from ? from - 1 : i;
}

/** The end of a run of 1 to 5 ASCII digits starting at `at` in `text`, or -1 when there is none. */
function portEnd(text: string, at: number): number {
  let i = at;
  while (i < text.length && i - at < 6) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  return i === at || i - at > 5 ? -1 : i;
}

/** "<ip> port <n>" at the end of `text` (after " [preauth]" is cut): the client and port. */
function clientPortAtEnd(text: string): Where | undefined {
  const p = text.lastIndexOf(' port ');
  if (p < 0 || portEnd(text, p + 6) !== text.length) return undefined;
  const sp = lastSpace(text, 0, p - 1);
  return where(text.slice(sp + 1, p), text.slice(p + 6), -1);
}

/** "... from <ip> port <n>[ ssh2[: extra]]": the LAST " from " (a user name cannot fake it). */
function fromClientPort(msg: string, after: number): Where | undefined {
  const at = msg.lastIndexOf(' from ');
  if (at < after) return undefined;
  const start = at + 6;
  let end = msg.indexOf(' ', start);
  if (end < 0) end = msg.length;
  // " port <1 to 5 digits>" right after the address (what follows the digits is not checked).
  let port = '';
  if (msg.startsWith(' port ', end)) {
    let e = end + 6;
    while (e < msg.length && e - end - 6 < 5) {
      const c = msg.charCodeAt(e);
      if (c < 48 || c > 57) break;
      e++;
    }
    if (e > end + 6) port = msg.slice(end + 6, e);
  }
  return where(msg.slice(start, end), port, at);
}

/** Pending credits and per-connection state expire: sshd writes the lines of one attempt within milliseconds. */
const SSHD_STATE_TTL_MS = 120_000;
const SSHD_STATE_MAX = 4096;

/**
 * OpenSSH's sshd (syslog, journald export or a container's stdout): one failure per
 * authentication attempt, after OpenSSH's auth2.c (userauth_finish: every failed request
 * but the initial "none" is one attempt) and auth.c (auth_log, getpwnamallow,
 * auth_maxtries_exceeded). The rule per line shape, with the messages sshd writes, is in
 * docs/log-formats.md. In short:
 * - `Failed <method> for [invalid user ]<user> from <ip> port <n> ssh2`: one attempt,
 *   unless an earlier line of the same attempt was counted (`Invalid user`, `PAM:`);
 *   `Failed none` is the free first request, not an attempt;
 * - `Invalid user <user> from <ip> port <n>`: the connection's first attempt (counted here,
 *   so a scanner that stops before a `Failed` line is still seen);
 * - `error: PAM: Authentication failure for [illegal user ]<user> from <ip>`: the attempt
 *   whose `Failed keyboard-interactive/pam` line follows (counted once);
 * - `maximum authentication attempts exceeded ...` and `Connection closed by / Disconnected
 *   from / Connection reset by authenticating|invalid user <user> <ip> port <n> [preauth]`:
 *   the end of a connection's attempts: one failure if none of them was logged (sshd logs a
 *   failed publickey only at VERBOSE until half of MaxAuthTries is used, so a key-only
 *   scanner leaves nothing else), nothing otherwise;
 * - `message repeated N times: [ <message>]` (rsyslog): the message, N times;
 * - `Accepted <method> for <user> from <ip> port <n> ssh2`: success.
 * Only lines of sshd (sshd, sshd-session, sshd-auth) count.
 *
 * The state's clock is coarse by default (coarseNow: its 120 s expiry needs no finer, and
 * a read of the system clock for each line cost more than the state's update).
 */
export function sshdMatcher(now: () => number = coarseNow): LineMatcher {
  /** Attempts counted early by `Invalid user`, by ip+port: the connection's next `Failed` line is that attempt. */
  const invalidPending = new BoundedCounts(SSHD_STATE_MAX, SSHD_STATE_TTL_MS, now);
  /** Attempts counted early by a PAM failure, by ip+user: the next `Failed ... for <user> from <ip>` is that attempt. */
  const pamPending = new BoundedCounts(SSHD_STATE_MAX, SSHD_STATE_TTL_MS, now);
  /** Failures counted per connection (ip+port), to decide what an end-of-attempts line adds. */
  const counted = new BoundedCounts(SSHD_STATE_MAX, SSHD_STATE_TTL_MS, now);

  const failure = (w: Where, n: number): LineMatch => {
    if (w.client !== undefined && w.port !== '') counted.add(w.key, n);
    return auth('failure', w.client, n, w.ip);
  };

  /**
   * What `msg` says when sshd wrote it `n` times in a row (rsyslog's "message repeated"):
   * worked out at once, with the same counts and state as reading it `n` times.
   */
  const message = (msg: string, n: number): LineMatch | undefined => {
    // Each test of a start is gated by the first character: a startsWith costs as much as a
    // dozen character reads, and most messages would fail several of them.
    let c = msg.charCodeAt(0);
    if (c === 101 /* e */ && msg.startsWith('error: ')) {
      msg = msg.slice(7);
      c = msg.charCodeAt(0);
    }
    if (
      (c === 70 /* F */ && msg.startsWith('Failed ')) ||
      (c === 65 /* A */ && msg.startsWith('Accepted '))
    ) {
      const ok = c === 65;
      const methodStart = ok ? 9 : 7;
      const forAt = msg.indexOf(' for ', methodStart);
      // The method is one word: "Failed password for", "Failed keyboard-interactive/pam for".
      if (forAt < 0 || lastSpace(msg, methodStart, forAt - 1) >= methodStart) return undefined;
      const where = fromClientPort(msg, forAt);
      if (!where) return undefined;
      if (ok) return auth('success', where.client, n, where.ip);
      // "Failed none for": the free first request.
      if (forAt - methodStart === 4 && msg.startsWith('none', methodStart)) return undefined;
      let userStart = forAt + 5;
      const invalid = msg.startsWith('invalid user ', userStart);
      if (invalid) userStart += 13;
      const client = where.client;
      // Attempts counted early are taken first: each `Invalid user` credit with a PAM credit
      // of the same attempt, then PAM credits. (The user is read, and the keys built, only
      // when something is pending: most logs have no PAM lines.)
      let rest = n;
      if (client !== undefined) {
        if (invalid && invalidPending.size > 0) {
          const taken = invalidPending.takeUpTo(where.key, rest);
          if (taken > 0 && pamPending.size > 0)
            pamPending.takeUpTo(`${client} ${msg.slice(userStart, where.at)}`, taken);
          rest -= taken;
        }
        if (rest > 0 && pamPending.size > 0)
          rest -= pamPending.takeUpTo(`${client} ${msg.slice(userStart, where.at)}`, rest);
      }
      return rest > 0 ? failure(where, rest) : undefined;
    }
    if (c === 73 /* I */ && msg.startsWith('Invalid user ')) {
      const where = fromClientPort(msg, 12);
      if (!where) return undefined;
      if (where.client !== undefined) invalidPending.add(where.key, n);
      return failure(where, n);
    }
    if (c === 80 /* P */ && msg.startsWith('PAM: ')) {
      const forAt = msg.indexOf(' for ', 5);
      if (forAt < 0 || !/^PAM: [Aa]uthentication failure$/.test(msg.slice(0, forAt))) return undefined;
      const at = msg.lastIndexOf(' from ');
      if (at < forAt) return undefined;
      const client = cleanClient(msg.slice(at + 6).split(' ')[0]);
      // For an unknown user, sshd's `Invalid user` line counted this attempt already.
      if (msg.startsWith('illegal user ', forAt + 5)) return undefined;
      const user = msg.slice(forAt + 5, at);
      if (client !== undefined) pamPending.add(`${client} ${user}`, n);
      return auth('failure', client, n);
    }
    if (c === 109 /* m */ && msg.startsWith('maximum authentication attempts exceeded for ')) {
      const body = msg.endsWith(' [preauth]') ? msg.slice(0, -10) : msg;
      const where = fromClientPort(body, 40);
      if (!where) return undefined;
      return endOfAttempts(where, n);
    }
    if (SSHD_END_OF_ATTEMPTS.test(msg)) {
      if (!msg.endsWith(' [preauth]')) return undefined;
      const where = clientPortAtEnd(msg.slice(0, -10));
      if (!where) return undefined;
      return endOfAttempts(where, n);
    }
    return undefined;
  };

  /**
   * The end of a connection's attempts, `n` times: one failure if none was logged (the first
   * then marks the connection, so the next find one), else nothing new. Without a client or
   * a port nothing marks the connection, and each counts.
   */
  const endOfAttempts = (w: Where, n: number): LineMatch | undefined => {
    if (w.client === undefined || w.port === '') return failure(w, n);
    if (counted.size > 0 && counted.get(w.key) > 0) return undefined;
    return failure(w, 1);
  };

  const matchAt = (line: string, messageAt: number): LineMatch | undefined => {
    const start = sshdMessageStart(line, messageAt);
    if (start < 0) return undefined;
    let msg = start === 0 ? line : line.slice(start);
    let times = 1;
    if (msg.charCodeAt(0) === 109 /* m */ && msg.startsWith('message repeated ')) {
      // rsyslog: "message repeated 4 times: [ Failed password for root from ... ssh2]"
      const m = /^message repeated (\d{1,6}) times: \[ ?(.*)\]$/.exec(msg);
      if (!m) return undefined;
      times = Number(m[1]);
      msg = m[2]!;
    }
    // One pass whatever the count: a local user's `logger -t sshd "message repeated 999999
    // times: [ ... ]"` costs no more than any other line.
    return times > 0 ? message(msg, times) : undefined;
  };
  const matcher: LineMatcher = (line: string) => matchAt(line, -1);
  matcher.matchAt = matchAt;
  matcher.prefilter = SSHD_PREFILTER;
  return matcher;
}

/** An sshd matcher with its own state, for callers that match one stream of lines. */
export const matchSshd: LineMatcher = sshdMatcher();

/** Whether `path` (query string removed) is one of `loginPaths` or below one. */
function isLoginPath(path: string, loginPaths: readonly string[]): boolean {
  for (const p of loginPaths) {
    if (path.startsWith(p) && (path.length === p.length || path[p.length] === '/' || p.endsWith('/')))
      return true;
  }
  return false;
}

/**
 * nginx access log in the `combined` or `common` format (also Apache's):
 * `<ip> - <user> [<time>] "<method> <path> <proto>" <status> <bytes> ...`.
 * Every line counts its status class; a 401/403 on a login path is an auth failure, a
 * 2xx/3xx answer to a POST on a login path an auth success. A line not in that shape is
 * a parse error. nginx escapes `"` inside the request as \x22, so the first `" ` after
 * the request ends it.
 */
export function nginxMatcher(loginPaths: readonly string[]): LineMatcher {
  return (line) => {
    const q = line.indexOf(' "');
    if (q < 0) return PARSE_ERROR;
    const endReq = line.indexOf('" ', q + 2);
    if (endReq < 0) return PARSE_ERROR;
    const s = endReq + 2;
    const c0 = line.charCodeAt(s);
    const c1 = line.charCodeAt(s + 1);
    const c2 = line.charCodeAt(s + 2);
    const c3 = line.charCodeAt(s + 3);
    if (
      c0 < 49 || c0 > 53 || c1 < 48 || c1 > 57 || c2 < 48 || c2 > 57 ||
      (c3 === c3 && c3 !== 32) // NaN (end of line) is fine, so is a space
    ) return PARSE_ERROR; // prettier-ignore
    const codeClass = CODE_CLASSES[c0 - 49]!;
    const status = (c0 - 48) * 100 + (c1 - 48) * 10 + (c2 - 48);
    const failure = status === 401 || status === 403;
    const success = status >= 200 && status < 400;
    if (!failure && !success) return HTTP[codeClass];
    // Only now look at the request: "<method> <path> <proto>".
    const req = q + 2;
    const sp1 = line.indexOf(' ', req);
    if (sp1 < 0 || sp1 > endReq) return HTTP[codeClass];
    let sp2 = line.indexOf(' ', sp1 + 1);
    if (sp2 < 0 || sp2 > endReq) sp2 = endReq;
    let path = line.slice(sp1 + 1, sp2);
    const query = path.indexOf('?');
    if (query >= 0) path = path.slice(0, query);
    if (!isLoginPath(path, loginPaths)) return HTTP[codeClass];
    if (success && line.slice(req, sp1) !== 'POST') return HTTP[codeClass];
    const client = cleanClient(line.slice(0, line.indexOf(' ')));
    return { codeClass, auth: failure ? 'failure' : 'success', ...(client ? { client } : {}) };
  };
}

export interface JsonFormat {
  result_field: string;
  failure_values: readonly (string | number | boolean)[];
  success_values: readonly (string | number | boolean)[];
  client_field?: string | undefined;
}

function field(obj: unknown, path: readonly string[]): unknown {
  let v = obj;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * One JSON object per line (an application's structured log). The result field equal to
 * one of `failure_values` / `success_values` is an attempt (compared as text, so 401 and
 * "401" both match). A line that is not a JSON object is a parse error.
 */
export function jsonMatcher(format: JsonFormat): LineMatcher {
  const resultPath = format.result_field.split('.');
  const clientPath = format.client_field?.split('.');
  const failures = new Set(format.failure_values.map(String));
  const successes = new Set(format.success_values.map(String));
  return (line) => {
    let body: unknown;
    try {
      body = JSON.parse(line);
    } catch {
      return PARSE_ERROR;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return PARSE_ERROR;
    const value = field(body, resultPath);
    if (value === undefined || value === null || typeof value === 'object') return undefined;
    const text = String(value);
    const result: AuthResult | undefined = failures.has(text)
      ? 'failure'
      : successes.has(text)
        ? 'success'
        : undefined;
    if (result === undefined) return undefined;
    const c = clientPath ? field(body, clientPath) : undefined;
    return auth(result, typeof c === 'string' || typeof c === 'number' ? cleanClient(String(c)) : undefined);
  };
}

/**
 * Format regex: `failure` (and optional `success`), each with a (?<client>...) group.
 * The patterns are the user's, matched against lines others write: compiled with the
 * linear-time engine (config/user-regex.ts), never with RegExp.
 */
export function regexMatcher(format: { failure: string; success?: string | undefined }): LineMatcher {
  const failure = compileUserRegex(format.failure);
  const success = format.success !== undefined ? compileUserRegex(format.success) : undefined;
  return (line) => {
    let m = failure.exec(line);
    if (m) return auth('failure', cleanClient(m.groups.client));
    if (success) {
      m = success.exec(line);
      if (m) return auth('success', cleanClient(m.groups.client));
    }
    return undefined;
  };
}

export interface FormatConfig {
  format: 'sshd' | 'nginx' | 'json' | 'regex';
  login_paths: readonly string[];
  json?: JsonFormat | undefined;
  regex?: { failure: string; success?: string | undefined } | undefined;
}

/** The matcher for one configured source. */
export function matcherFor(c: FormatConfig): LineMatcher {
  switch (c.format) {
    case 'sshd':
      // Its own state per source: lines of one attempt are paired within one log.
      return sshdMatcher();
    case 'nginx':
      return nginxMatcher(c.login_paths);
    case 'json':
      if (!c.json) throw new Error('format json needs "json"');
      return jsonMatcher(c.json);
    case 'regex':
      if (!c.regex) throw new Error('format regex needs "regex"');
      return regexMatcher(c.regex);
  }
}
