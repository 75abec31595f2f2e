import { compileUserRegex } from '../../config/user-regex.js';

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
  /** The client address of that attempt, when the line names one. */
  client?: string;
  /** Format nginx: the class of the response status. */
  codeClass?: CodeClass;
  /** The line is not in the expected format (nginx, json). */
  parseError?: boolean;
}

/**
 * Returns what a line says, or undefined when it says nothing of interest. `keywords`,
 * when set, are ASCII strings of which a line must contain one to match at all: lines
 * with none are only counted, never decoded (see LineSplitter's Prefilter).
 */
export type LineMatcher = ((line: string) => LineMatch | undefined) & { keywords?: readonly string[] };

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
 * A client as a label value: an IPv4/IPv6 address or a host name (sshd with UseDNS),
 * never free text. Anything else is dropped (the attempt still counts).
 */
const CLIENT = /^[A-Za-z0-9][A-Za-z0-9.:%_-]{0,252}$/;
export function cleanClient(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  return CLIENT.test(text) ? text : undefined;
}

/** The token after the LAST " from " of a line (a user name cannot fake the address: sshd writes it after). */
function clientAfterFrom(line: string, from: number): string | undefined {
  const at = line.lastIndexOf(' from ');
  if (at < from) return undefined;
  const start = at + 6;
  let end = line.indexOf(' ', start);
  if (end < 0) end = line.length;
  return cleanClient(line.slice(start, end));
}

function auth(result: AuthResult, client: string | undefined): LineMatch {
  if (client === undefined) return result === 'failure' ? AUTH_FAILURE : AUTH_SUCCESS;
  return { auth: result, client };
}

/**
 * OpenSSH's sshd (syslog, journald export or a container's stdout):
 * - `Failed <method> for [invalid user] <user> from <ip> port <n> ssh2`: one rejected
 *   credential (password, publickey, keyboard-interactive/pam, none...) → failure;
 * - `Invalid user <user> from <ip> port <n>`: a connection naming an unknown user → failure
 *   (on key-only servers it is the only trace of a scan);
 * - `error: PAM: Authentication failure for <user> from <ip>` → failure;
 * - `Accepted <method> for <user> from <ip> port <n> ssh2` → success.
 * pam_unix's own `authentication failure; ... rhost=<ip>` line is NOT counted: sshd logs
 * `Failed password` for the same attempt, and counting both would double every failure.
 */
export const matchSshd: LineMatcher = (line: string): LineMatch | undefined => {
  let i = line.indexOf('Failed ');
  if (i >= 0) {
    const forAt = line.indexOf(' for ', i + 7);
    // The method is one word: "Failed password for", "Failed keyboard-interactive/pam for".
    if (forAt < 0 || line.lastIndexOf(' ', forAt - 1) >= i + 7) return undefined;
    return auth('failure', clientAfterFrom(line, forAt));
  }
  i = line.indexOf('Invalid user ');
  if (i >= 0) return auth('failure', clientAfterFrom(line, i));
  i = line.indexOf('Accepted ');
  if (i >= 0) {
    const forAt = line.indexOf(' for ', i + 9);
    if (forAt < 0 || line.lastIndexOf(' ', forAt - 1) >= i + 9) return undefined;
    return auth('success', clientAfterFrom(line, forAt));
  }
  i = line.indexOf('uthentication failure for ');
  if (i >= 0 && (line[i - 1] === 'A' || line[i - 1] === 'a'))
    return auth('failure', clientAfterFrom(line, i));
  return undefined;
};
matchSshd.keywords = ['Failed ', 'Invalid user ', 'Accepted ', 'uthentication failure for '];

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
      return matchSshd;
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
