import { promises as fsp, type Stats } from 'node:fs';
import { LineSplitter } from './line-splitter.js';

/**
 * Follows one log file like `tail -F`, by polling (fs.stat on the path, fs.read on an
 * open descriptor), which works on every filesystem, bind mounts included, where
 * inotify does not:
 * - a file present when following starts is read from its END: a restart of the
 *   exporter does not count the history again;
 * - a file that appears later (missing at start, re-created after a deletion, the new
 *   file of a rotation) is new, and is read from its start;
 * - rename rotation (logrotate `create`): the old descriptor is read to its end, then
 *   the new file is opened;
 * - copytruncate: a size below the read position means the file was truncated; reading
 *   restarts at 0;
 * - deletion: the descriptor is read to its end and closed; the source is down until the
 *   path exists again.
 */

export interface FollowerEvents {
  /** One complete line (without its newline; cut to the maximum length if longer). */
  line(line: string): void;
  /** Bytes read (including those of cut lines). */
  bytes(n: number): void;
  /** A line was longer than the maximum and was cut. */
  truncated(): void;
  /** Whether the target is being followed (1) or missing / unreachable (0). */
  up(up: boolean): void;
  /** A read failed (other than the file being absent); logged once per distinct error. */
  error(err: Error): void;
  /** Optional prefilter: lines without any of these ASCII keywords are only counted (`skipped`). */
  keywords?: readonly string[];
  skipped?(lines: number): void;
}

/** The prefilter of a LineSplitter for these events, if they ask for one. */
export function prefilterOf(events: FollowerEvents) {
  return events.keywords && events.skipped
    ? { keywords: events.keywords, skipped: events.skipped }
    : undefined;
}

export interface FileFollowerOptions {
  maxLineBytes: number;
  /** Milliseconds between checks of the path (default 250). */
  pollMs?: number;
  /** Read a file present at start from its beginning (the benchmark; never in production). */
  fromStart?: boolean;
  /** Bytes read per turn before yielding to the event loop (default 4 MiB). */
  bytesPerTurn?: number;
}

/**
 * One read buffer for every follower of the process, used by one read at a time: large
 * reads cost less per byte, and the buffer is not multiplied by the number of files.
 * Lines are handled synchronously right after each read, so nothing outlives the lock.
 */
const CHUNK = 1024 * 1024;
let sharedBuf: Buffer | undefined;
let readLock: Promise<unknown> = Promise.resolve();
function withReadBuffer<T>(fn: (buf: Buffer) => Promise<T>): Promise<T> {
  const run = readLock.then(() => fn((sharedBuf ??= Buffer.allocUnsafe(CHUNK))));
  readLock = run.catch(() => undefined);
  return run;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

export class FileFollower {
  private fd: fsp.FileHandle | undefined;
  private ino = -1;
  private dev = -1;
  private position = 0;
  private first = true;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private lastError: string | undefined;
  private isUp: boolean | undefined;
  private readonly splitter: LineSplitter;
  private readonly pollMs: number;
  private readonly bytesPerTurn: number;

  constructor(
    readonly path: string,
    private readonly events: FollowerEvents,
    private readonly opts: FileFollowerOptions,
  ) {
    this.splitter = new LineSplitter(opts.maxLineBytes, events.line, events.truncated, prefilterOf(events));
    this.pollMs = opts.pollMs ?? 250;
    this.bytesPerTurn = opts.bytesPerTurn ?? 4 * 1024 * 1024;
  }

  start(): void {
    if (this.running || this.closed) return;
    this.running = this.tick();
  }

  /** One check of the path, and reading what is new. Never throws. */
  private async tick(): Promise<void> {
    this.timer = undefined;
    let more = false;
    try {
      more = await this.check();
      this.setError(undefined);
    } catch (err) {
      this.setError(err as Error);
    }
    if (this.closed) return;
    // More to read: go on at once (after other work queued), else wait for the next poll.
    this.timer = setTimeout(() => (this.running = this.tick()), more ? 0 : this.pollMs);
    this.timer.unref();
  }

  private async check(): Promise<boolean> {
    let st: Stats | undefined;
    try {
      st = await fsp.stat(this.path);
    } catch (err) {
      if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw err;
    }
    if (this.fd) {
      const more = await this.drain();
      if (more) return true;
      if (!st || st.ino !== this.ino || st.dev !== this.dev) {
        // Renamed or deleted: the old file has been read to its end; on to the new one.
        await this.closeFd();
        this.splitter.flush();
      } else return false;
    }
    if (!st) {
      this.first = false;
      this.setUp(false);
      return false;
    }
    if (!st.isFile()) throw new Error(`${this.path} is not a regular file`);
    const fd = await fsp.open(this.path, 'r');
    const fst = await fd.stat();
    this.fd = fd;
    this.ino = fst.ino;
    this.dev = fst.dev;
    this.position = this.first && !this.opts.fromStart ? fst.size : 0;
    this.first = false;
    this.splitter.reset();
    this.setUp(true);
    return this.drain();
  }

  /** Reads from the open descriptor up to its end (or bytesPerTurn); true when more is left. */
  private async drain(): Promise<boolean> {
    const fd = this.fd!;
    const size = (await fd.stat()).size;
    if (size < this.position) {
      // copytruncate: the file was emptied under us.
      this.position = 0;
      this.splitter.reset();
    }
    let read = 0;
    while (!this.closed && read < this.bytesPerTurn) {
      const bytesRead = await withReadBuffer(async (buf) => {
        const { bytesRead } = await fd.read(buf, 0, CHUNK, this.position);
        if (bytesRead === 0 || this.closed) return 0;
        this.position += bytesRead;
        this.events.bytes(bytesRead);
        this.splitter.push(buf, 0, bytesRead);
        return bytesRead;
      });
      if (bytesRead === 0) return false;
      read += bytesRead;
    }
    return !this.closed;
  }

  private setUp(up: boolean): void {
    if (this.isUp === up) return;
    this.isUp = up;
    this.events.up(up);
  }

  private setError(err: Error | undefined): void {
    if (err === undefined) {
      this.lastError = undefined;
      return;
    }
    this.setUp(false);
    if (this.lastError === err.message) return;
    this.lastError = err.message;
    this.events.error(err);
  }

  private async closeFd(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    this.ino = -1;
    this.dev = -1;
    await fd?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    await this.closeFd();
  }
}
