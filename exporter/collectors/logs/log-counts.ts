import type { FollowerEvents } from '../../sources/file-follower.js';
import type { CodeClass, LineMatcher } from '../../sources/log-formats.js';

/**
 * The running totals of one log source, kept apart from prom-client (and Docker) so the
 * hot path — match a line, count it — is measured alone by bench/logs.mjs.
 */

interface ClientCount {
  count: number;
  /** Value of `inserts` when the client was last (re)inserted into the map. */
  seq: number;
  /** What apply() last wrote for this client. */
  applied: number;
}

/** The running totals of one source, written by its follower, read by apply(). */
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
  /** Failures by client, least recently seen first (a Map keeps insertion order). */
  readonly clients = new Map<string, ClientCount>();
  evictions = 0;
  /** Clients evicted since the last apply(), whose series must go. */
  readonly evicted = new Set<string>();

  constructor(
    private readonly matcher: LineMatcher,
    private readonly maxClients: number,
  ) {}

  /** (Re)insertions into `clients` so far. */
  private inserts = 0;

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
   * Counts a failure of `client`, keeping `clients` in least-recently-seen order. A
   * client inserted fewer than max_clients/2 insertions ago is in the newer half of the
   * map and cannot be the next evicted, so it is not moved (moving is a delete + set,
   * and a Map that churns rebuilds its table): an LRU to within half the cap, which is
   * all the bound needs, at a fraction of the cost on a busy log.
   */
  private failureFrom(client: string, n = 1): void {
    const clients = this.clients;
    const entry = clients.get(client);
    if (entry !== undefined) {
      entry.count += n;
      if (this.inserts - entry.seq > this.maxClients >> 1) {
        clients.delete(client);
        entry.seq = ++this.inserts;
        clients.set(client, entry);
      }
      return;
    }
    clients.set(client, { count: n, applied: 0, seq: ++this.inserts });
    if (clients.size > this.maxClients) {
      const oldest = clients.keys().next().value as string;
      clients.delete(oldest);
      this.evicted.add(oldest);
      this.evictions++;
    }
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
