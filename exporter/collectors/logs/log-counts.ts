import type { FollowerEvents } from '../../sources/file-follower.js';
import type { CodeClass, LineMatcher } from '../../sources/log-formats.js';

/**
 * The running totals of one log source, kept apart from prom-client (and Docker) so the
 * hot path — match a line, count it — is measured alone by bench/logs.mjs.
 */

interface ClientCount {
  client: string;
  count: number;
  /** The recency list: the client seen just before this one, and just after. */
  older: ClientCount | undefined;
  newer: ClientCount | undefined;
}

/** The running totals of one source, written by its follower, read by each run of the collector. */
export class SourceCounts {
  lines = 0;
  bytes = 0;
  truncated = 0;
  readErrors = 0;
  parseErrors = 0;
  up = false;
  authFailure = 0;
  authSuccess = 0;
  readonly http: Record<CodeClass, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  /** Failures by client (iteration order is not recency: see `oldest`). */
  readonly clients = new Map<string, ClientCount>();
  /** Ends of the recency list: the least and the most recently seen client. */
  private oldest: ClientCount | undefined;
  private newest: ClientCount | undefined;
  evictions = 0;

  constructor(
    private readonly matcher: LineMatcher,
    private readonly maxClients: number,
  ) {}

  /** Matches and counts one line: the hot path. */
  line(line: string): void {
    this.lines++;
    const m = this.matcher(line);
    if (m === undefined) return;
    if (m.parseError) {
      this.parseErrors++;
      return;
    }
    if (m.codeClass !== undefined) this.http[m.codeClass]++;
    const n = m.count ?? 1;
    if (m.auth === 'failure') {
      this.authFailure += n;
      if (m.client !== undefined) this.failureFrom(m.client, n);
    } else if (m.auth === 'success') this.authSuccess += n;
  }

  /**
   * Counts a failure of `client`, keeping the least recently seen at the head of a doubly
   * linked list, so that a hit and an eviction are a few pointer moves. (Evicting through
   * `Map.keys().next()` was not O(1): V8 leaves a hole for each deleted entry until the
   * table is rebuilt, and the first live key is found by skipping them; with 100,000
   * distinct clients over a cap of 1000 that scan dominated the whole read.)
   */
  private failureFrom(client: string, n = 1): void {
    const entry = this.clients.get(client);
    if (entry !== undefined) {
      entry.count += n;
      if (entry !== this.newest) {
        this.unlink(entry);
        this.append(entry);
      }
      return;
    }
    const added: ClientCount = { client, count: n, older: undefined, newer: undefined };
    this.clients.set(client, added);
    this.append(added);
    if (this.clients.size > this.maxClients) {
      const oldest = this.oldest!;
      this.unlink(oldest);
      this.clients.delete(oldest.client);
      this.evictions++;
    }
  }

  private unlink(e: ClientCount): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = e.newer = undefined;
  }

  private append(e: ClientCount): void {
    e.older = this.newest;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  /** Callbacks for a follower feeding this source. */
  events(onError: (err: Error) => void): FollowerEvents {
    return {
      line: (line) => this.line(line),
      ...(this.matcher.keywords
        ? { keywords: this.matcher.keywords, skipped: (n: number) => (this.lines += n) }
        : {}),
      bytes: (n) => (this.bytes += n),
      truncated: () => this.truncated++,
      up: (up) => (this.up = up),
      error: (err) => {
        this.readErrors++;
        onError(err);
      },
    };
  }
}
