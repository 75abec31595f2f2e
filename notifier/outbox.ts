import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../internal/log.js';
import type { WebhookPayload } from './payload.js';

/**
 * The durable outbox: an append-only JSON-lines file, one record per line, each appended
 * with write + fdatasync before the caller goes on, so a notification acknowledged to
 * Alertmanager survives a kill -9 or a power cut. Delivery reads from here, never from the
 * request. Records:
 *
 *   {"t":"enq","id":…,"at":ms,"hash":…,"channels":[…],"msg":{…}}   a notification to deliver
 *   {"t":"done","id":…,"ch":…,"r":"delivered"|"failed_permanent"|"superseded"}   one channel finished it
 *   {"t":"seen","hash":…,"at":ms}                                    dedupe memory (after compaction)
 *
 * Synchronous I/O on purpose: one small append plus fdatasync costs about 0.25 ms on the
 * ext4 virtio disk it was measured on (a few ms on a slow SD card), notifications arrive a
 * few per minute, and it keeps "on disk before the 2xx" obviously true without any
 * interleaving to reason about.
 *
 * A bad day: a write that fails (ENOSPC, EIO) may leave part of a line behind. The file is
 * cut back to the end of the last complete record before anything else is appended, so the
 * next acknowledged record is never glued onto a torn one. A failed enqueue throws (the
 * webhook gets a 5xx and Alertmanager retries); a failed "done" record is kept in memory
 * and written again later (until then a restart would deliver that notification again,
 * which is better than losing one). Replay streams the file line by line, so its size is
 * bounded by the disk, not by what fits in one string.
 * When finished entries dominate, the file is rewritten (temp file, fsync, rename, fsync dir).
 */

/** What gets delivered: an Alertmanager notification, or one the notifier made itself. */
export interface Notification {
  payload: WebhookPayload;
  /**
   * What is true now, filled in just before a send and never stored: the current value of a
   * resolved alert's expression, by the alert's fingerprint (see notifier/current.ts).
   */
  current?: Record<string, string>;
}

export type DoneResult = 'delivered' | 'failed_permanent' | 'superseded';

export interface OutboxEntry {
  id: string;
  /** When it was accepted, ms since the epoch. */
  at: number;
  /**
   * The notification, read back from the outbox file on each use: only what delivery needs
   * to choose and log an entry is kept in memory, so a long queue costs little more than
   * its ids (a parsed webhook body weighs several times its JSON).
   */
  readonly message: Notification;
  /** "firing DiskSpaceLow": what log lines call it, without reading it back. */
  title: string;
  /** The channels it is for, chosen by routing when it was accepted. */
  channels: string[];
  done: Map<string, DoneResult>;
  /** Alertmanager's group key: a later notification for the same group replaces this one. */
  group: string;
  /** Bytes of its record in the file (what outbox_max_bytes counts). */
  bytes: number;
  /** Where its record starts in the file. */
  offset: number;
}

/** An entry whose notification stays on disk, read back by offset when it is sent. */
class StoredEntry implements OutboxEntry {
  readonly done = new Map<string, DoneResult>();
  constructor(
    readonly id: string,
    readonly at: number,
    readonly channels: string[],
    readonly group: string,
    readonly title: string,
    public bytes: number,
    public offset: number,
    private readonly load: (entry: StoredEntry) => Notification,
  ) {}
  get message(): Notification {
    return this.load(this);
  }
}

type EnqRecord = { t: 'enq'; id: string; at: number; hash?: string; channels: string[]; msg: Notification };
type DoneRecord = { t: 'done'; id: string; ch: string; r: DoneResult };
type SeenRecord = { t: 'seen'; hash: string; at: number };
type OutboxRecord = EnqRecord | DoneRecord | SeenRecord;

export interface OutboxOptions {
  dir: string;
  maxEntries: number;
  /** Bytes of undelivered records kept; unlimited when not set. */
  maxBytes?: number;
  dedupeWindowMs: number;
  log: Logger;
  /** Compaction waits until at least this many finished entries sit in the file. */
  compactMinFinished?: number;
  now?: () => number;
}

export type EnqueueResult =
  { ok: true; entry: OutboxEntry } | { ok: false; reason: 'outbox_full'; detail: string };

/** Replay reads the file in chunks of this size; a record may be longer (it is then joined). */
const READ_CHUNK = 1 << 20;

export class Outbox extends EventEmitter {
  readonly file: string;
  readonly #opts: OutboxOptions;
  readonly #live = new Map<string, OutboxEntry>();
  readonly #seen = new Map<string, number>();
  /**
   * Per channel, the entries still waiting for it, oldest first: the next one to deliver is
   * found without walking entries that other channels still hold.
   */
  readonly #waiting = new Map<string, Map<string, OutboxEntry>>();
  /** The newest live entry of each Alertmanager group. */
  readonly #latest = new Map<string, string>();
  /** Done records whose write failed: kept and written again before the next append. */
  readonly #pending: DoneRecord[] = [];
  #fd: number;
  /** Bytes of the file that hold complete records; what lies beyond is a torn write. */
  #size = 0;
  #torn = false;
  #liveBytes = 0;
  #finishedInFile = 0;
  #closed = false;

  private constructor(opts: OutboxOptions) {
    super();
    // One listener per channel worker while it waits for work.
    this.setMaxListeners(0);
    this.#opts = opts;
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    this.file = join(opts.dir, 'outbox.jsonl');
    this.#fd = openSync(this.file, 'a+', 0o600);
    this.#replay();
    if (this.#shouldCompact()) this.#tryCompact();
  }

  /** Opens (or creates) the outbox in `dir` and replays what a previous run left undelivered. */
  static open(opts: OutboxOptions): Outbox {
    return new Outbox(opts);
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  /** Reads the file line by line in chunks (never the whole file at once) and applies each record. */
  #replay(): void {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    let carry: Buffer[] = [];
    let carryLen = 0;
    let pos = 0;
    let end = 0; // end of the last complete line
    let bad = 0;
    const line = (buf: Buffer, offset: number) => {
      if (buf.length === 0) return;
      let rec: OutboxRecord;
      try {
        rec = JSON.parse(buf.toString('utf8')) as OutboxRecord;
      } catch {
        // A line torn by an earlier failed write: its 2xx was never sent, so Alertmanager retried it.
        bad++;
        return;
      }
      this.#apply(rec, buf.length + 1, offset);
    };
    for (;;) {
      const n = readSync(this.#fd, chunk, 0, READ_CHUNK, pos);
      if (n === 0) break;
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, from);
        if (nl === -1 || nl >= n) break;
        const piece = chunk.subarray(from, nl);
        if (carryLen > 0) {
          carry.push(piece);
          line(Buffer.concat(carry, carryLen + piece.length), end);
          carry = [];
          carryLen = 0;
        } else line(piece, end);
        end = pos + nl + 1;
        from = nl + 1;
      }
      if (from < n) {
        carry.push(Buffer.from(chunk.subarray(from, n)));
        carryLen += n - from;
      }
      pos += n;
    }
    this.#size = end;
    if (pos > end) {
      // A crash or a failed write mid-append left a last line without its newline (a record never
      // acknowledged: the 2xx follows the fdatasync of a whole line). Cut it off before appending
      // again, or the next record would be glued onto it and lost with it at the following replay.
      ftruncateSync(this.#fd, end);
      fsyncSync(this.#fd);
      this.#opts.log.warn('outbox: cut off a torn last line (a crash mid-write; never acknowledged)', {
        file: this.file,
        bytes: pos - end,
      });
    }
    if (bad > 0) this.#opts.log.warn('outbox: skipped unreadable lines', { file: this.file, lines: bad });
    if (this.#live.size > 0)
      this.#opts.log.info('outbox: undelivered notifications from a previous run', {
        count: this.#live.size,
      });
  }

  #entry(id: string, at: number, channels: string[], msg: Notification, bytes: number, offset: number) {
    return new StoredEntry(id, at, channels, groupOf(msg), titleOf(msg), bytes, offset, this.#load);
  }

  /** Reads an entry's record back from the file. Throws when it cannot (an I/O error). */
  readonly #load = (entry: StoredEntry): Notification => {
    const buf = this.#readRaw(entry);
    return (JSON.parse(buf.toString('utf8', 0, buf.length - 1)) as EnqRecord).msg;
  };

  #readRaw(entry: OutboxEntry): Buffer {
    const buf = Buffer.allocUnsafe(entry.bytes);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(this.#fd, buf, off, buf.length - off, entry.offset + off);
      if (n === 0) throw new Error(`outbox: record of ${entry.id} cut short at ${entry.offset + off}`);
      off += n;
    }
    return buf;
  }

  #apply(rec: OutboxRecord, bytes: number, offset: number): void {
    if (rec.t === 'enq') {
      this.#add(this.#entry(rec.id, rec.at, rec.channels, rec.msg, bytes, offset), rec.hash);
      if (rec.channels.length === 0) this.#finish(this.#live.get(rec.id)!);
    } else if (rec.t === 'done') {
      const entry = this.#live.get(rec.id);
      if (!entry) return;
      entry.done.set(rec.ch, rec.r);
      this.#waiting.get(rec.ch)?.delete(entry.id);
      if (this.#finished(entry)) this.#finish(entry);
    } else if (rec.t === 'seen') {
      this.#seen.set(rec.hash, rec.at);
    }
  }

  #add(entry: OutboxEntry, hash: string | undefined): void {
    this.#live.set(entry.id, entry);
    for (const ch of entry.channels) {
      if (entry.done.has(ch)) continue;
      let q = this.#waiting.get(ch);
      if (!q) this.#waiting.set(ch, (q = new Map()));
      q.set(entry.id, entry);
    }
    this.#liveBytes += entry.bytes;
    if (entry.group) this.#latest.set(entry.group, entry.id);
    if (hash) this.#seen.set(hash, entry.at);
  }

  #finish(entry: OutboxEntry): void {
    this.#live.delete(entry.id);
    for (const ch of entry.channels) this.#waiting.get(ch)?.delete(entry.id);
    this.#liveBytes -= entry.bytes;
    if (entry.group && this.#latest.get(entry.group) === entry.id) this.#latest.delete(entry.group);
    this.#finishedInFile++;
  }

  #finished(entry: OutboxEntry): boolean {
    return entry.channels.every((ch) => entry.done.has(ch));
  }

  /**
   * Writes a whole buffer at the end of the file, and fdatasyncs it when `durable`; on failure
   * cuts the torn part off. Only accepted notifications need to be on the disk before the
   * caller goes on (their 2xx follows); a "done" record lost in a power cut only means that
   * notification is sent again after the reboot (a kill -9 loses nothing: the page cache
   * survives the process). So done records are written without their own fdatasync, and
   * reach the disk with the next accepted notification's, a compaction's or close's, instead
   * of costing one fdatasync per delivery on the event loop that answers Alertmanager.
   */
  #write(buf: Buffer, durable = true): void {
    if (this.#closed) throw new Error('outbox is closed');
    if (this.#torn) this.#cut();
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.#fd, buf, off);
      if (durable) fdatasyncSync(this.#fd);
    } catch (err) {
      if (off > 0) {
        this.#torn = true;
        try {
          this.#cut();
        } catch {
          // Still torn: cut again before the next append.
        }
      }
      throw err;
    }
    this.#size += buf.length;
  }

  /** Truncates the file to its last complete record. */
  #cut(): void {
    ftruncateSync(this.#fd, this.#size);
    fdatasyncSync(this.#fd);
    this.#torn = false;
    this.#opts.log.warn('outbox: cut off a partly written record after a failed write', { file: this.file });
  }

  /** Writes the done records that could not be written before; true when none is left. */
  flushPending(): boolean {
    if (this.#pending.length === 0 || this.#closed) return this.#pending.length === 0;
    const buf = Buffer.from(this.#pending.map((r) => JSON.stringify(r) + '\n').join(''));
    try {
      this.#write(buf, false);
    } catch {
      return false;
    }
    this.#pending.length = 0;
    this.#opts.log.info('outbox: wrote the delivery records that had failed to write', { file: this.file });
    return true;
  }

  /** True when an identical body was accepted within the dedupe window (an Alertmanager retry). */
  isDuplicate(hash: string): boolean {
    const at = this.#seen.get(hash);
    return at !== undefined && this.#now() - at < this.#opts.dedupeWindowMs;
  }

  /** Undelivered entries. */
  depth(): number {
    return this.#live.size;
  }

  /** Bytes of the undelivered entries' records. */
  bytes(): number {
    return this.#liveBytes;
  }

  /**
   * Writes the notification durably. Refused, never dropped, when the outbox is full (by
   * entries or by bytes). Throws when the write fails (the disk is full): nothing was acknowledged.
   */
  enqueue(message: Notification, channels: string[], hash?: string): EnqueueResult {
    if (this.#live.size >= this.#opts.maxEntries)
      return {
        ok: false,
        reason: 'outbox_full',
        detail: `${this.#live.size} undelivered notifications (outbox_max_entries ${this.#opts.maxEntries})`,
      };
    const rec: EnqRecord = { t: 'enq', id: randomUUID(), at: this.#now(), channels, msg: message };
    if (hash) rec.hash = hash;
    const buf = Buffer.from(JSON.stringify(rec) + '\n');
    const max = this.#opts.maxBytes;
    if (max !== undefined && channels.length > 0 && this.#liveBytes + buf.length > max)
      return {
        ok: false,
        reason: 'outbox_full',
        detail: `${this.#liveBytes} bytes undelivered, ${buf.length} more would pass outbox_max_bytes ${max}`,
      };
    this.flushPending();
    const offset = this.#size;
    this.#write(buf);
    const entry = this.#entry(rec.id, rec.at, channels, message, buf.length, offset);
    this.#add(entry, hash);
    if (channels.length === 0) {
      // Routed nowhere: nothing to deliver, but the dedupe memory is kept.
      this.#finish(entry);
      if (this.#shouldCompact()) this.#tryCompact();
      return { ok: true, entry };
    }
    this.emit('enqueue', entry);
    return { ok: true, entry };
  }

  /** The undelivered entries, oldest first. */
  entries(): OutboxEntry[] {
    return [...this.#live.values()];
  }

  /** The undelivered entries, oldest first, without a copy. */
  live(): IterableIterator<OutboxEntry> {
    return this.#live.values();
  }

  get(id: string): OutboxEntry | undefined {
    return this.#live.get(id);
  }

  /** The entries still waiting for `channel`, oldest first, without a copy. */
  waitingFor(channel: string): IterableIterator<OutboxEntry> {
    return (this.#waiting.get(channel) ?? new Map<string, OutboxEntry>()).values();
  }

  /** The oldest entry still waiting for `channel`. */
  nextFor(channel: string): OutboxEntry | undefined {
    return this.waitingFor(channel).next().value;
  }

  /**
   * True when a newer notification of the same Alertmanager group waits for `channel`: each
   * webhook carries the group's whole state, so the newer one says all this one would.
   */
  isSuperseded(entry: OutboxEntry, channel: string): boolean {
    if (!entry.group) return false;
    const latest = this.#latest.get(entry.group);
    if (latest === undefined || latest === entry.id) return false;
    const newer = this.#live.get(latest);
    return newer !== undefined && newer.channels.includes(channel) && !newer.done.has(channel);
  }

  /**
   * Records that `channel` is finished with the entry. Never throws: when the record cannot be
   * written it is kept and written before the next append (see flushPending).
   */
  markDone(id: string, channel: string, result: DoneResult): void {
    const entry = this.#live.get(id);
    if (!entry || entry.done.has(channel)) return;
    const rec: DoneRecord = { t: 'done', id, ch: channel, r: result };
    entry.done.set(channel, result);
    this.#waiting.get(channel)?.delete(id);
    if (this.#finished(entry)) this.#finish(entry);
    if (this.#closed) return;
    try {
      if (this.#pending.length > 0 && !this.flushPending())
        throw new Error('earlier records still unwritten');
      this.#write(Buffer.from(JSON.stringify(rec) + '\n'), false);
    } catch (err) {
      this.#pending.push(rec);
      this.#opts.log.error(
        'outbox: could not record a delivery; will write it again (a restart before then may send it twice)',
        {
          file: this.file,
          err,
          pending: this.#pending.length,
        },
      );
      return;
    }
    if (this.#shouldCompact()) this.#tryCompact();
  }

  #shouldCompact(): boolean {
    const min = this.#opts.compactMinFinished ?? 1000;
    return this.#finishedInFile >= min && this.#finishedInFile >= this.#live.size;
  }

  #tryCompact(): void {
    try {
      this.compact();
    } catch (err) {
      // The old file is intact (the new one is renamed over it only once complete): try again later.
      this.#finishedInFile = Math.floor(this.#finishedInFile / 2);
      this.#opts.log.error('outbox: compaction failed; the outbox keeps its old file', {
        file: this.file,
        err,
      });
    }
  }

  /** Rewrites the file with only the live entries and the dedupe memory still inside its window. */
  compact(): void {
    if (this.#closed) return;
    const now = this.#now();
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    let size = 0;
    /** Where each live entry's record starts in the new file. */
    const offsets = new Map<string, number>();
    try {
      const parts: Buffer[] = [];
      let partsLen = 0;
      const put = (buf: Buffer) => {
        parts.push(buf);
        partsLen += buf.length;
        if (partsLen > READ_CHUNK) flush();
      };
      const flush = () => {
        const buf = Buffer.concat(parts, partsLen);
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off);
        size += buf.length;
        parts.length = 0;
        partsLen = 0;
      };
      const line = (rec: OutboxRecord) => Buffer.from(JSON.stringify(rec) + '\n');
      for (const [hash, at] of this.#seen) {
        if (now - at >= this.#opts.dedupeWindowMs) this.#seen.delete(hash);
        else put(line({ t: 'seen', hash, at }));
      }
      for (const e of this.#live.values()) {
        // The record as it is in the file, bytes for bytes: the notification is never held whole in memory.
        const raw = this.#readRaw(e);
        offsets.set(e.id, size + partsLen);
        put(raw);
        for (const [ch, r] of e.done) put(line({ t: 'done', id: e.id, ch, r }));
      }
      flush();
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw err;
    }
    closeSync(fd);
    renameSync(tmp, this.file);
    const dirFd = openSync(this.#opts.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    closeSync(this.#fd);
    this.#fd = openSync(this.file, 'a+', 0o600);
    this.#size = fstatSync(this.#fd).size || size;
    this.#torn = false;
    this.#pending.length = 0; // their done state is in the new file
    for (const e of this.#live.values()) e.offset = offsets.get(e.id) ?? e.offset;
    this.#opts.log.debug('outbox compacted', { finished: this.#finishedInFile, live: this.#live.size });
    this.#finishedInFile = 0;
  }

  close(): void {
    if (this.#closed) return;
    this.flushPending();
    this.#closed = true;
    try {
      // The done records written since the last fdatasync.
      fdatasyncSync(this.#fd);
    } catch (err) {
      this.#opts.log.error('outbox: could not sync the delivery records at close', { file: this.file, err });
    }
    closeSync(this.#fd);
  }
}

/** "firing DiskSpaceLow" (or "firing 3 alerts"): what log lines call a notification. */
export function titleOf(message: Notification): string {
  const p = message.payload;
  const name = p.groupLabels?.alertname ?? p.commonLabels?.alertname ?? `${p.alerts?.length ?? 0} alerts`;
  return `${p.status} ${name}`;
}

function groupOf(message: Notification): string {
  return typeof message.payload?.groupKey === 'string' ? message.payload.groupKey : '';
}
