import { isAscii } from 'node:buffer';

/**
 * Splits a byte stream into lines, bounded in memory: a line longer than `maxLineBytes`
 * is cut to that many bytes (reported with `truncated`), and the rest of it, up to its
 * newline, is dropped without being kept. So a 10 MB line costs at most `maxLineBytes`.
 *
 * Bytes are decoded as UTF-8 with replacement (U+FFFD): invalid input never throws. A
 * trailing "\r" is removed. Chunks are copied where kept, so the caller may reuse its
 * read buffer.
 */
export interface LineHandler {
  /**
   * `messageAt`, when at least 0: the line was let through by its prefilter because of the
   * text right after its first `after`, which starts there (and the line does not start
   * with any of `starts`); -1 when not known.
   */
  (line: string, messageAt: number): void;
}

/**
 * Where a line can match at all: it starts with one of `starts`, or the text right after
 * the first `after` in it does (a syslog line's message follows its "program[pid]: ").
 * Both are printable ASCII.
 */
export interface LineStarts {
  starts: readonly string[];
  after: string;
}

/**
 * A prefilter: lines that cannot match (see LineStarts) are only counted (`skipped`),
 * never decoded into strings. On a log where most lines do not match, this saves most of
 * the decoding and nearly all of the garbage. The bytes are looked at as Latin-1 (one
 * character per byte): an ASCII string is found there exactly where its bytes are, and a
 * UTF-8 multi-byte sequence never contains an ASCII byte, so the same lines are found as
 * in the decoded text.
 */
export interface Prefilter extends LineStarts {
  skipped(lines: number): void;
}

/**
 * Bytes decoded at a time. A string of up to 64 KiB is made in V8's young generation and
 * freed by its next scavenge; a 1 MiB one goes to the large-object space, which only a full
 * collection frees (measured on 102 MiB of sshd lines: decoding and splitting took 30 ms in
 * 64 KiB pieces, 150 ms in 1 MiB ones).
 */
const PIECE_BYTES = 64 * 1024;

/** The starts of a Starts that begin with one character, each with a character to read first. */
interface StartsGroup {
  keys: string[];
  /** Per key: the offset of its last character other than a space, and that character. */
  probeAt: number[];
  probe: number[];
}

/**
 * A set of ASCII starts, looked up by the character they begin with: a startsWith costs as
 * much as a dozen character reads, and most texts begin with a character none of them does.
 * Within a group, each start's last word is checked by one character before the whole
 * start is compared: sshd's "Connection reset by <ip>" shares 20 characters with two of
 * the four "Connection ..." starts, and failing four comparisons of that length had cost
 * about a tenth of the time spent on a log of such lines.
 */
export class Starts {
  private readonly byFirst = new Array<StartsGroup | undefined>(128).fill(undefined);
  constructor(starts: readonly string[]) {
    for (const k of starts) {
      const g = (this.byFirst[k.charCodeAt(0)] ??= { keys: [], probeAt: [], probe: [] });
      let i = k.length - 1;
      while (i > 0 && k.charCodeAt(i) === 32) i--;
      g.keys.push(k);
      g.probeAt.push(i);
      g.probe.push(k.charCodeAt(i));
    }
  }
  /** Whether `text` has one of them at `at`. */
  test(text: string, at = 0): boolean {
    const c = text.charCodeAt(at);
    const g = c < 128 ? this.byFirst[c] : undefined;
    if (g === undefined) return false;
    const keys = g.keys;
    for (let i = 0; i < keys.length; i++) {
      // Past the end of text, charCodeAt gives NaN, equal to nothing.
      if (text.charCodeAt(at + g.probeAt[i]!) === g.probe[i] && text.startsWith(keys[i]!, at)) return true;
    }
    return false;
  }
}

export class LineSplitter {
  /** Bytes of the current, unfinished line (copies). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside the rest of an over-long line, dropping bytes until its newline. */
  private discarding = false;

  private readonly starts: Starts | undefined;
  private readonly after: string | undefined;
  private readonly skipped: ((lines: number) => void) | undefined;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: LineHandler,
    private readonly onTruncated: () => void,
    prefilter?: Prefilter,
  ) {
    if (prefilter && prefilter.starts.length > 0) {
      if ([...prefilter.starts, prefilter.after].some((k) => k === '' || /[^\x20-\x7e]/.test(k)))
        throw new Error('prefilter strings must be non-empty printable ASCII');
      this.starts = new Starts(prefilter.starts);
      this.after = prefilter.after;
      this.skipped = prefilter.skipped;
    }
  }

  /** Feeds `chunk[start, end)`. */
  push(chunk: Buffer, start = 0, end = chunk.length): void {
    let pos = start;
    if (pos >= end) return;
    // Finish the line in progress (or the over-long line being dropped).
    if (this.discarding || this.pendingBytes > 0) {
      const nl = chunk.indexOf(10, pos);
      const stop = nl < 0 || nl >= end ? end : nl;
      if (this.discarding) {
        if (stop === end) return;
        this.discarding = false;
      } else if (this.pendingBytes + (stop - pos) > this.maxLineBytes) {
        this.emitTruncated(chunk, pos, pos + (this.maxLineBytes - this.pendingBytes));
        if (stop === end) {
          this.discarding = true;
          return;
        }
      } else if (stop === end) {
        this.keep(chunk, pos, end);
        return;
      } else {
        this.pending.push(chunk.subarray(pos, stop));
        const line = Buffer.concat(this.pending).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
        this.emit(line);
      }
      pos = stop + 1;
    }
    if (pos >= end) return;
    const last = chunk.lastIndexOf(10, end - 1);
    if (last >= pos) {
      if (this.starts) this.filtered(chunk, pos, last);
      else this.lines(chunk, pos, last);
      pos = last + 1;
    }
    if (pos < end) {
      if (end - pos > this.maxLineBytes) {
        this.emitTruncated(chunk, pos, pos + this.maxLineBytes);
        this.discarding = true;
      } else this.keep(chunk, pos, end);
    }
  }

  /** Complete lines of chunk[pos, last] (last is a newline). */
  private lines(chunk: Buffer, pos: number, last: number): void {
    const max = this.maxLineBytes;
    const piece = Math.min(max, PIECE_BYTES);
    while (pos <= last) {
      // The longest run of whole lines within a piece: one decode, one split.
      const sub = chunk.lastIndexOf(10, Math.min(last, pos + piece));
      if (sub < pos) {
        // The next line is longer than a piece: alone, cut to max if longer.
        const nl = chunk.indexOf(10, pos);
        if (nl - pos > max) this.emitTruncated(chunk, pos, pos + max);
        else this.emit(chunk.toString('utf8', pos, nl));
        pos = nl + 1;
        continue;
      }
      const lines = chunk.toString('utf8', pos, sub).split('\n');
      for (let i = 0; i < lines.length; i++) this.emit(lines[i]!);
      pos = sub + 1;
    }
  }

  /** Lines of chunk[from, last] (last is a newline), a piece at a time (see PIECE_BYTES). */
  private filtered(chunk: Buffer, from: number, last: number): void {
    for (let pos = from; pos <= last;) {
      let sub = pos + PIECE_BYTES >= last ? last : chunk.lastIndexOf(10, pos + PIECE_BYTES);
      // A line longer than a piece ends its piece.
      if (sub < pos) sub = chunk.indexOf(10, pos + PIECE_BYTES);
      this.filteredPiece(chunk, pos, sub);
      pos = sub + 1;
    }
  }

  /**
   * Lines of chunk[from, last] (last is a newline): only those that can match (see
   * LineStarts) are decoded. The bytes are searched as one Latin-1 string, whose offsets
   * are byte offsets: String.indexOf and startsWith run in the engine, where each
   * Buffer.indexOf was a call into C++. When the piece is all ASCII (as logs nearly
   * always are) that string is also its UTF-8 text, and a line is cut from it rather
   * than decoded again.
   */
  private filteredPiece(chunk: Buffer, from: number, last: number): void {
    const max = this.maxLineBytes;
    const text = chunk.toString('latin1', from, last + 1);
    const ascii = isAscii(chunk.subarray(from, last + 1));
    const end = text.length;
    const after = this.after!;
    let lines = 0;
    let emitted = 0;
    // The next `after` at or beyond the line start (found once for several lines without one).
    let sep = -1;
    for (let p = 0; p < end;) {
      const nl = text.indexOf('\n', p);
      const long = nl - p > max;
      if (long) this.onTruncated();
      lines++;
      let keep = this.starts!.test(text, p);
      let at = -1;
      if (!keep) {
        if (sep < p) sep = text.indexOf(after, p);
        if (sep < 0) sep = end;
        at = sep + after.length;
        keep = sep < nl && this.starts!.test(text, at);
      }
      if (keep) {
        emitted++;
        const to = long ? p + max : nl;
        // A message cut off by the maximum length has no known start.
        if (ascii) this.emit(text.slice(p, to), at >= 0 && !long ? at - p : -1);
        else this.emit(chunk.toString('utf8', from + p, from + to), -1);
      }
      p = nl + 1;
    }
    if (lines > emitted) this.skipped!(lines - emitted);
  }

  /** The unfinished line, if any, as a line (its file ended without a newline). */
  flush(): void {
    if (this.pendingBytes > 0) {
      const line = Buffer.concat(this.pending).toString('utf8');
      this.reset();
      this.emit(line);
    }
    this.discarding = false;
  }

  /** Forgets the unfinished line (its file was truncated). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    this.pending.push(Buffer.from(chunk.subarray(from, to)));
    this.pendingBytes += to - from;
  }

  private emitTruncated(chunk: Buffer, from: number, to: number): void {
    this.pending.push(chunk.subarray(from, to));
    const line = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.onTruncated();
    this.emit(line);
  }

  private emit(line: string, messageAt = -1): void {
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) {
      line = line.slice(0, -1);
      if (messageAt > line.length) messageAt = -1;
    }
    this.onLine(line, messageAt);
  }
}
