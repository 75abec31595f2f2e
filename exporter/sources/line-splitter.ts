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
  (line: string): void;
}

/**
 * A byte-level prefilter: lines that contain none of `keywords` cannot match, so they
 * are only counted (`skipped`), never decoded into strings. Keywords are ASCII, and a
 * UTF-8 multi-byte sequence never contains an ASCII byte, so the byte search finds
 * exactly the lines whose text contains a keyword. On a log where most lines do not
 * match, this saves most of the decoding and nearly all of the garbage.
 */
export interface Prefilter {
  keywords: readonly string[];
  skipped(lines: number): void;
}

export class LineSplitter {
  /** Bytes of the current, unfinished line (copies). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside the rest of an over-long line, dropping bytes until its newline. */
  private discarding = false;

  private readonly keywords: Buffer[] | undefined;
  private readonly skipped: ((lines: number) => void) | undefined;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: LineHandler,
    private readonly onTruncated: () => void,
    prefilter?: Prefilter,
  ) {
    if (prefilter && prefilter.keywords.length > 0) {
      if (prefilter.keywords.some((k) => k === '' || /[^\x20-\x7e]/.test(k)))
        throw new Error('prefilter keywords must be non-empty printable ASCII');
      this.keywords = prefilter.keywords.map((k) => Buffer.from(k, 'latin1'));
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
      if (this.keywords) this.filtered(chunk, pos, last);
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
    while (pos <= last) {
      // The longest run of whole lines of at most max bytes: one decode, one split.
      const sub = chunk.lastIndexOf(10, Math.min(last, pos + max));
      if (sub < pos) {
        // The next line is longer than max.
        this.emitTruncated(chunk, pos, pos + max);
        pos = chunk.indexOf(10, pos) + 1;
        continue;
      }
      const lines = chunk.toString('utf8', pos, sub).split('\n');
      for (let i = 0; i < lines.length; i++) this.emit(lines[i]!);
      pos = sub + 1;
    }
  }

  /** Lines of chunk[from, last] (last is a newline): only those holding a keyword are decoded. */
  private filtered(chunk: Buffer, from: number, last: number): void {
    const max = this.maxLineBytes;
    let lines = 0;
    for (let p = from; p <= last;) {
      const nl = chunk.indexOf(10, p);
      if (nl - p > max) this.onTruncated();
      lines++;
      p = nl + 1;
    }
    const starts: number[] = [];
    for (const kw of this.keywords!) {
      let p = from;
      while (p < last) {
        const hit = chunk.indexOf(kw, p);
        if (hit < 0 || hit >= last) break;
        starts.push(Math.max(from, chunk.lastIndexOf(10, hit) + 1));
        p = chunk.indexOf(10, hit) + 1;
      }
    }
    if (starts.length > 1) starts.sort((a, b) => a - b);
    let emitted = 0;
    let prev = -1;
    for (const start of starts) {
      if (start === prev) continue;
      prev = start;
      emitted++;
      this.emit(chunk.toString('utf8', start, Math.min(chunk.indexOf(10, start), start + max)));
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

  private emit(line: string): void {
    this.onLine(line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
  }
}
