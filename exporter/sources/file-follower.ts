import { promises as fsp, watch, type FSWatcher, type Stats } from 'node:fs';
import { dirname, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LineSplitter, type LineStarts } from './line-splitter.js';
import { ChangeLog } from '../../internal/change-log.js';

/** The one key of the follower's ChangeLog: the followed file. */
const FILE = 'file';

/**
 * Follows one log file like `tail -F`, by polling (fs.stat on the path, fs.read on an
 * open descriptor), which works on every filesystem, bind mounts included, where
 * inotify does not. Where inotify works, a watch on the open file (fs.watch) wakes the
 * follower as soon as the file changes, so new lines are read at once rather than at the
 * next poll; polling goes on beside it, and carries on alone if the watch fails:
 * - a file present when following starts is read from its END: a restart of the
 *   exporter does not count the history again;
 * - a file that appears later (missing at start, re-created after a deletion, the new
 *   file of a rotation) is new, and is read from its start;
 * - rename rotation (logrotate `create`): the new file is opened and read from its start,
 *   and the old descriptor stays open and is read too until it has had nothing new for
 *   `rotateIdleMs` (as Fluent Bit's rotate_wait): a writer that reopens its log a moment
 *   after the rename still writes to the old file meanwhile, and those lines count;
 * - copytruncate: the file was truncated when its size is below the read position, or when
 *   its first bytes are no longer those read before (a fingerprint of up to 256 bytes): a
 *   writer fast enough to write past the old position before the next poll is caught too;
 *   reading restarts at 0;
 * - deletion: the descriptor is kept, as after a rename, until idle; the source is down
 *   until the path exists again.
 */

export interface FollowerEvents {
  /**
   * One complete line (without its newline; cut to the maximum length if longer), and
   * where its message starts when the prefilter found it (see LineHandler), else -1.
   */
  line(line: string, messageAt: number): void;
  /** Bytes read (including those of cut lines). */
  bytes(n: number): void;
  /** A line was longer than the maximum and was cut. */
  truncated(): void;
  /** Whether the target is being followed (1) or missing / unreachable (0). */
  up(up: boolean): void;
  /** A read failed (other than the file being absent); logged once per distinct error. */
  error(err: Error): void;
  /**
   * Optional: called when a read that found new data has reached the end of what there is
   * to read (caught up), so the counts are complete up to now, with the bytes read since
   * the last call.
   */
  caughtUp?(bytes: number): void;
  /** Optional prefilter: lines that cannot match are only counted (`skipped`); see LineStarts. */
  prefilter?: LineStarts;
  skipped?(lines: number): void;
}

/** The prefilter of a LineSplitter for these events, if they ask for one. */
export function prefilterOf(events: FollowerEvents) {
  return events.prefilter && events.skipped ? { ...events.prefilter, skipped: events.skipped } : undefined;
}

export interface FileFollowerOptions {
  maxLineBytes: number;
  /** Milliseconds between checks of the path (default 250). */
  pollMs?: number;
  /** Read a file present at start from its beginning (the benchmark; never in production). */
  fromStart?: boolean;
  /** Bytes read per turn before yielding to the event loop (default 4 MiB). */
  bytesPerTurn?: number;
  /** Watch the open file with fs.watch (inotify) to read changes at once (default true). */
  watch?: boolean;
  /** How long a rotated-away (renamed or deleted) file is kept open with nothing new in it (default 5 s). */
  rotateIdleMs?: number;
  /**
   * Follow the path when it resolves (through symlinks) to a file outside the path's own
   * folder. Off by default: a log symlink retargeted to /etc/shadow must not have its
   * lines read and their words exported as label values.
   */
  symlinkOutsideFolder?: boolean;
}

/** Bytes at the start of a file compared to detect copytruncate. */
const FINGERPRINT_BYTES = 256;

/**
 * A change notice is served at once when the last check is at least this old, else when it
 * is: a writer appending line by line sends a notice per write, and these are served
 * together, so a busy log costs at most 1000 / WAKE_MS reads a second (the poll alone
 * would cost 1000 / pollMs).
 */
export const WAKE_MS = 20;

/** An open file being read: the current one, or one rotated away and read until idle. */
interface Tail {
  fd: fsp.FileHandle;
  position: number;
  splitter: LineSplitter;
  /** The first bytes of the file as read, up to FINGERPRINT_BYTES. */
  fingerprint: Buffer;
  /** performance.now() of the last read that returned data (rotated-away files). */
  lastDataAt: number;
}

/**
 * Two read buffers of 512 KiB for every follower of the process, used by one follower at a time:
 * large reads cost less per byte, and the buffers are not multiplied by the number of
 * files. While the lines of one chunk are handled, the next chunk is read into the other
 * buffer (on the thread pool), so a file being caught up is never waited for between
 * chunks. Lines are handled synchronously after each read, and a read still in flight
 * ends before the lock is released, so nothing outlives the lock.
 */
const CHUNK = 512 * 1024;
let sharedBufs: readonly [Buffer, Buffer] | undefined;
let readLock: Promise<unknown> = Promise.resolve();
function withReadBuffers<T>(fn: (bufs: readonly [Buffer, Buffer]) => Promise<T>): Promise<T> {
  const run = readLock.then(() =>
    fn((sharedBufs ??= [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)])),
  );
  readLock = run.catch(() => undefined);
  return run;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

export class FileFollower {
  private tail: Tail | undefined;
  /** Files rotated away (renamed or deleted) and still read until they have been idle for rotateIdleMs. */
  private readonly retired: Tail[] = [];
  private ino = -1;
  private dev = -1;
  private first = true;
  private timer: NodeJS.Timeout | undefined;
  /** The next check when there is more to read at once (see schedule). */
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  /** A read failure is reported once per distinct error. */
  private readonly errors = new ChangeLog<Error>((_, __, err) => this.events.error(err));
  private isUp: boolean | undefined;
  private readonly pollMs: number;
  private readonly bytesPerTurn: number;
  private readonly rotateIdleMs: number;
  /** The fs.watch of the open file, if watching works here. */
  private watcher: FSWatcher | undefined;
  /** A change notice arrived while a check was under way: check again at once after it. */
  private woken = false;
  /** performance.now() when the last check started. */
  private lastCheckAt = -Infinity;
  /** Bytes read since the follower last caught up (to report `caughtUp` once per burst). */
  private readSinceCaughtUp = 0;

  constructor(
    readonly path: string,
    private readonly events: FollowerEvents,
    private readonly opts: FileFollowerOptions,
  ) {
    this.pollMs = opts.pollMs ?? 250;
    this.bytesPerTurn = opts.bytesPerTurn ?? 4 * 1024 * 1024;
    this.rotateIdleMs = opts.rotateIdleMs ?? 5000;
  }

  /**
   * Starts following. The promise settles when the first check is done (the file opened
   * and positioned, or found missing): lines appended after that are read.
   */
  start(): Promise<void> {
    if (this.running || this.closed) return Promise.resolve();
    this.running = this.tick();
    return this.running;
  }

  /** One check of the path, and reading what is new. Never throws. */
  private async tick(): Promise<void> {
    this.timer = undefined;
    this.lastCheckAt = performance.now();
    let more = false;
    try {
      more = await this.check();
      this.setError(undefined);
    } catch (err) {
      this.setError(err as Error);
    }
    if (this.closed) return;
    if (!more && this.readSinceCaughtUp > 0) {
      const bytes = this.readSinceCaughtUp;
      this.readSinceCaughtUp = 0;
      this.events.caughtUp?.(bytes);
    }
    // More to read: go on at once (after other work queued); a change noticed meanwhile:
    // soon; else wait for the next poll (or a change notice).
    const delay = more ? 0 : this.woken ? WAKE_MS : this.pollMs;
    this.woken = false;
    this.schedule(delay);
  }

  private schedule(delay: number): void {
    if (delay <= 0) {
      // More to read: after the I/O and timers already due, without setTimeout's 1 ms floor
      // (a file caught up 4 MiB a turn waited ~1.5 ms per turn for nothing).
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.running = this.tick();
      });
      this.immediate.unref();
      return;
    }
    this.timer = setTimeout(() => (this.running = this.tick()), delay);
    this.timer.unref();
  }

  /** A change notice from fs.watch: read soon instead of at the next poll. */
  private wake(): void {
    if (this.closed) return;
    // Reading on at once anyway.
    if (this.immediate !== undefined) return;
    if (this.timer === undefined) {
      // A check is under way: it may have read before this change; check again after it.
      this.woken = true;
      return;
    }
    // Waiting for the next poll: read now, or WAKE_MS after the last check began (notices
    // meanwhile change nothing).
    if (this.woken) return;
    this.woken = true;
    clearTimeout(this.timer);
    this.schedule(Math.max(0, this.lastCheckAt + WAKE_MS - performance.now()));
  }

  /** Watches the file just opened (and stops watching the one before). */
  private watchFile(): void {
    this.unwatch();
    if (this.opts.watch === false) return;
    try {
      const w = watch(this.path, { persistent: false }, () => this.wake());
      // A watch that fails (inotify limits, a filesystem without it) leaves the polling.
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch {
      this.watcher = undefined;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** The path's stat, or undefined when there is nothing there. */
  private async statPath(): Promise<Stats | undefined> {
    try {
      return await fsp.stat(this.path);
    } catch (err) {
      if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw err;
      return undefined;
    }
  }

  private async check(): Promise<boolean> {
    let more = await this.drainRetired();
    let st: Stats | undefined;
    if (this.tail) {
      // While the file has more to read, each turn reads on; the path is looked at (for a
      // rotation) once the file has been read to its end.
      if (await this.drain(this.tail)) return true;
      st = await this.statPath();
      if (!st || st.ino !== this.ino || st.dev !== this.dev) {
        // Renamed or deleted: read it on, next to the new file, until it goes idle.
        this.tail.lastDataAt = performance.now();
        this.retired.push(this.tail);
        this.tail = undefined;
        this.ino = -1;
        this.dev = -1;
        this.unwatch();
        more = true;
      } else return more;
    } else st = await this.statPath();
    if (!st) {
      this.first = false;
      this.setUp(false);
      return more;
    }
    if (!st.isFile()) throw new Error(`${this.path} is not a regular file`);
    // Checked on every open, so a retargeted symlink is checked again at the next reopen.
    const target = await this.checkTarget();
    const fd = await fsp.open(this.path, 'r');
    const fst = await fd.stat();
    if (target && (fst.ino !== target.ino || fst.dev !== target.dev)) {
      // Retargeted between the check and the open: try again at the next poll.
      await fd.close();
      throw new Error(`${this.path} changed while it was opened`);
    }
    this.tail = {
      fd,
      position: this.first && !this.opts.fromStart ? fst.size : 0,
      splitter: new LineSplitter(
        this.opts.maxLineBytes,
        this.events.line,
        this.events.truncated,
        prefilterOf(this.events),
      ),
      fingerprint: Buffer.alloc(0),
      lastDataAt: performance.now(),
    };
    this.ino = fst.ino;
    this.dev = fst.dev;
    this.first = false;
    this.setUp(true);
    this.watchFile();
    await this.refreshFingerprint(this.tail);
    return (await this.drain(this.tail)) || more;
  }

  /** Reads the rotated-away files; closes those idle for rotateIdleMs. True when one has more to read. */
  private async drainRetired(): Promise<boolean> {
    let more = false;
    for (const t of [...this.retired]) {
      const before = t.position;
      if (await this.drain(t)) more = true;
      const now = performance.now();
      if (t.position !== before) t.lastDataAt = now;
      else if (now - t.lastDataAt >= this.rotateIdleMs) {
        this.retired.splice(this.retired.indexOf(t), 1);
        t.splitter.flush();
        await t.fd.close().catch(() => undefined);
      }
    }
    return more;
  }

  /** The first bytes of the file, up to FINGERPRINT_BYTES. */
  private async readHead(fd: fsp.FileHandle, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fd.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  }

  /** Extends the fingerprint as the file grows past it (only bytes already read are part of it). */
  private async refreshFingerprint(t: Tail): Promise<void> {
    const want = Math.min(FINGERPRINT_BYTES, t.position);
    if (t.fingerprint.length >= want) return;
    t.fingerprint = await this.readHead(t.fd, want);
  }

  /**
   * The symlink policy: the path must resolve to a file inside its own folder (both
   * resolved), unless symlinkOutsideFolder. Returns the target's identity, to compare with
   * what is then opened; throws when the target is outside.
   */
  private async checkTarget(): Promise<Stats | undefined> {
    if (this.opts.symlinkOutsideFolder) return undefined;
    const [target, folder] = await Promise.all([fsp.realpath(this.path), fsp.realpath(dirname(this.path))]);
    if (!target.startsWith(folder.endsWith(sep) ? folder : folder + sep)) {
      throw new Error(
        `${this.path} resolves to a file outside ${folder}; not followed (set symlink_outside_folder: true on the source to allow it)`,
      );
    }
    return fsp.stat(target);
  }

  /** Reads from the descriptor up to its end (or bytesPerTurn); true when more is left. */
  private async drain(t: Tail): Promise<boolean> {
    const fd = t.fd;
    // A truncation followed by a writer faster than the poll leaves the size at or above
    // the old position: the first bytes tell. (Both read at once: one wait, not two.)
    const [size, head] = await Promise.all([
      fd.stat().then((s) => s.size),
      t.fingerprint.length > 0 ? this.readHead(fd, t.fingerprint.length) : undefined,
    ]);
    let truncated = size < t.position;
    if (!truncated && head !== undefined) truncated = !head.equals(t.fingerprint);
    if (truncated) {
      // copytruncate: the file was emptied under us.
      t.position = 0;
      t.fingerprint = Buffer.alloc(0);
      t.splitter.reset();
    }
    if (this.closed) return false;
    // Up to bytesPerTurn, then true (more may be left: the caller goes on after other work).
    const more = await withReadBuffers(async (bufs) => {
      let read = 0;
      let cur = 0;
      let next: Promise<{ bytesRead: number }> | undefined = fd.read(bufs[0], 0, CHUNK, t.position);
      try {
        while (next !== undefined) {
          const { bytesRead } = await next;
          next = undefined;
          if (bytesRead === 0 || this.closed) return false;
          const buf = bufs[cur]!;
          t.position += bytesRead;
          read += bytesRead;
          if (read < this.bytesPerTurn) {
            cur ^= 1;
            next = fd.read(bufs[cur]!, 0, CHUNK, t.position);
          }
          this.readSinceCaughtUp += bytesRead;
          this.events.bytes(bytesRead);
          t.splitter.push(buf, 0, bytesRead);
        }
        return true;
      } finally {
        // A read still in flight writes into a shared buffer: it ends before the lock is released.
        if (next !== undefined) await next.catch(() => undefined);
      }
    });
    if (!this.closed) await this.refreshFingerprint(t);
    return more;
  }

  private setUp(up: boolean): void {
    if (this.isUp === up) return;
    this.isUp = up;
    this.events.up(up);
  }

  private setError(err: Error | undefined): void {
    if (err === undefined) {
      this.errors.ok(FILE);
      return;
    }
    this.setUp(false);
    this.errors.fail(FILE, err.message, err);
  }

  private async closeFd(): Promise<void> {
    this.unwatch();
    const tails = [...this.retired.splice(0), ...(this.tail ? [this.tail] : [])];
    this.tail = undefined;
    this.ino = -1;
    this.dev = -1;
    await Promise.all(tails.map((t) => t.fd.close().catch(() => undefined)));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    await this.running?.catch(() => undefined);
    await this.closeFd();
  }
}
