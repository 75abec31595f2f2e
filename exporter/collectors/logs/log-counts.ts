import type { FollowerEvents } from '../../sources/file-follower.js';
import { BoundedCounts } from '../../sources/bounded-counts.js';
import { ipv4Number, ipv4Text, type CodeClass, type LineMatcher } from '../../sources/log-formats.js';

/**
 * The running totals of one log source, kept apart from prom-client (and Docker) so the
 * hot path — match a line, count it — is measured alone by bench/logs.mjs.
 */

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
   * Failures by client, the max_clients most recently seen: keyed by the client's IPv4
   * address as a number where it is one (hashed without a string: see ipv4Number, and
   * written back as text only when the counts are read), else by its text.
   */
  private readonly byClient: BoundedCounts;
  evictions = 0;

  constructor(
    private readonly matcher: LineMatcher,
    maxClients: number,
  ) {
    this.byClient = new BoundedCounts(maxClients);
  }

  /** Matches and counts one line: the hot path. */
  line(line: string, messageAt = -1): void {
    this.lines++;
    const matchAt = this.matcher.matchAt;
    const m = messageAt >= 0 && matchAt !== undefined ? matchAt(line, messageAt) : this.matcher(line);
    if (m === undefined) return;
    if (m.parseError) {
      this.parseErrors++;
      return;
    }
    if (m.codeClass !== undefined) this.http[m.codeClass]++;
    const n = m.count ?? 1;
    if (m.auth === 'failure') {
      this.authFailure += n;
      if (m.client !== undefined) this.failureFrom(m.client, m.ipv4 ?? ipv4Number(m.client), n);
    } else if (m.auth === 'success') this.authSuccess += n;
  }

  /** Counts a failure of `client`; at max_clients the least recently seen client is evicted. */
  private failureFrom(client: string, ip: number, n: number): void {
    if (this.byClient.add(ip >= 0 ? ip : client, n)) this.evictions++;
  }

  /** How many clients have their failures counted (at most max_clients). */
  get clientCount(): number {
    return this.byClient.size;
  }

  /** The failures of each client counted, as [client, failures], least recently seen first. */
  *clients(): IterableIterator<[string, number]> {
    for (const [key, count] of this.byClient.entries())
      yield [typeof key === 'number' ? ipv4Text(key) : key, count];
  }

  /** Callbacks for a follower feeding this source. */
  events(onError: (err: Error) => void): FollowerEvents {
    return {
      line: (line, messageAt) => this.line(line, messageAt),
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
