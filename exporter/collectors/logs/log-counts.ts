import type { FollowerEvents } from '../../sources/file-follower.js';
import { ipv4Number, type CodeClass, type LineMatcher } from '../../sources/log-formats.js';

/**
 * The running totals of one log source, kept apart from prom-client (and Docker) so the
 * hot path — match a line, count it — is measured alone by bench/logs.mjs.
 */

interface ClientCount {
  /** The client's address (the entry of an evicted client is reused for the next new one). */
  client: string;
  /** Its key in SourceCounts.byKey. */
  key: number | string;
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
  /**
   * Failures by client, keyed by the client's IPv4 address as a number where it is one
   * (hashed without a string: see ipv4Number), else by its text. Iteration order is not
   * recency: see `oldest`.
   */
  private readonly byKey = new Map<number | string, ClientCount>();
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
    const ip = ipv4Number(client);
    const key = ip >= 0 ? ip | 0 : client;
    const entry = this.byKey.get(key);
    if (entry !== undefined) {
      entry.count += n;
      if (entry !== this.newest) {
        this.unlink(entry);
        this.append(entry);
      }
      return;
    }
    let added: ClientCount;
    if (this.byKey.size >= this.maxClients) {
      // Evict the least recently seen, and reuse its entry for the new client: at the cap
      // (a flood of distinct addresses) a new client then allocates nothing but its name.
      added = this.oldest!;
      this.unlink(added);
      this.byKey.delete(added.key);
      this.evictions++;
      added.client = client;
      added.key = key;
      added.count = n;
    } else added = { client, key, count: n, older: undefined, newer: undefined };
    this.byKey.set(key, added);
    this.append(added);
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

  /** How many clients have their failures counted (at most max_clients). */
  get clientCount(): number {
    return this.byKey.size;
  }

  /** The failures of each client counted, as [client, failures]. */
  *clients(): IterableIterator<[string, number]> {
    for (const e of this.byKey.values()) yield [e.client, e.count];
  }

  /** Callbacks for a follower feeding this source. */
  events(onError: (err: Error) => void): FollowerEvents {
    return {
      line: (line) => this.line(line),
      ...(this.matcher.prefilter
        ? { prefilter: this.matcher.prefilter, skipped: (n: number) => (this.lines += n) }
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
