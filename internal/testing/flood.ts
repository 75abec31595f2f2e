import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A flood of idle connections: `total` TCP connections that never send a byte, opened
 * `batch` at a time, each held until the server closes it or the flood is stopped. Bounded
 * in count (`total`) and in time (`maxMs`); the client never holds more than the server
 * keeps plus one batch.
 */
export class ConnectionFlood {
  opened = 0;
  closedByServer = 0;
  errors = 0;
  private readonly sockets = new Set<Socket>();
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly port: number,
    opts: { total: number; batch: number; maxMs: number },
  ) {
    this.done = this.run(opts);
  }

  private async run({ total, batch, maxMs }: { total: number; batch: number; maxMs: number }) {
    const deadline = Date.now() + maxMs;
    while (!this.stopped && this.opened < total && Date.now() < deadline) {
      const n = Math.min(batch, total - this.opened);
      await Promise.all(Array.from({ length: n }, () => this.open()));
    }
  }

  private open(): Promise<void> {
    return new Promise<void>((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      this.opened++;
      this.sockets.add(s);
      s.on('error', () => this.errors++);
      s.once('connect', () => resolve());
      s.once('close', () => {
        if (!this.stopped) this.closedByServer++;
        this.sockets.delete(s);
        resolve();
      });
    });
  }

  /** Stops opening and closes every connection still held. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

export interface Answer {
  path: string;
  status: number | string;
  ms: number;
  body: string;
}

/** One GET on a fresh connection (as a new scrape would come in during a flood), never throwing. */
export function getFresh(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Answer> {
  const t0 = performance.now();
  return new Promise<Answer>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          path,
          status: res.statusCode ?? 0,
          ms: performance.now() - t0,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', (err) => resolve({ path, status: err.message, ms: performance.now() - t0, body: '' }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ path, status: err.message, ms: performance.now() - t0, body: '' }));
    req.end();
  });
}

/** The q-quantile (0..1) of `values`, by nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The peak resident set size (VmHWM) of a process, in bytes, from /proc/<pid>/status. */
export function peakRss(status: string): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error('no VmHWM in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}
