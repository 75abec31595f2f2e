import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, seededRandom } from '../../internal/testing/helpers.js';
import { FileFollower } from './file-follower.js';
import { LineSplitter, Starts } from './line-splitter.js';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-follow-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A follower of a fresh path in the temp folder, recording what it reports. */
function follow(opts: { create?: string; maxLineBytes?: number } = {}) {
  const path = join(dir, `f${n++}.log`);
  if (opts.create !== undefined) writeFileSync(path, opts.create);
  const got = { lines: [] as string[], bytes: 0, truncated: 0, up: [] as boolean[], errors: [] as string[] };
  const f = new FileFollower(
    path,
    {
      line: (l) => got.lines.push(l),
      bytes: (b) => (got.bytes += b),
      truncated: () => got.truncated++,
      up: (u) => got.up.push(u),
      error: (e) => got.errors.push(e.message),
    },
    { maxLineBytes: opts.maxLineBytes ?? 1024, pollMs: 20 },
  );
  f.start();
  const lines = (count: number) =>
    eventually(() => (got.lines.length >= count ? got.lines.slice() : undefined), 5000, `${count} lines`);
  return { path, f, got, lines };
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('LineSplitter', () => {
  it('cuts over-long lines, keeps memory bounded, and joins lines split across chunks', () => {
    const lines: string[] = [];
    let truncated = 0;
    const s = new LineSplitter(
      8,
      (l) => lines.push(l),
      () => truncated++,
    );
    s.push(Buffer.from('abc'));
    s.push(Buffer.from('def\r\nxy'));
    s.push(Buffer.from('z\n0123456789abcdef'));
    s.push(Buffer.from('ghij\nok\n'));
    s.push(Buffer.from('0123456789\n'));
    assert.deepEqual(lines, ['abcdef', 'xyz', '01234567', 'ok', '01234567']);
    assert.equal(truncated, 2);
  });
  it('decodes invalid UTF-8 with replacement characters', () => {
    const lines: string[] = [];
    const s = new LineSplitter(
      100,
      (l) => lines.push(l),
      () => undefined,
    );
    s.push(Buffer.from([0xff, 0xfe, 0x41, 0x0a, 0xc3, 0x0a]));
    assert.deepEqual(lines, ['\uFFFD\uFFFDA', '\uFFFD']);
  });

  it('with a prefilter, decodes only lines that start (or whose message starts) right, and counts the others', () => {
    const text =
      'Failed x\nb Failed\nh p[1]: Accepted y\r\nh: Failed\n\u00e9 q: Accepted z\nh p: b: Failed w\nc\n';
    // An invalid byte before the separator: the line is still found, and decoded with U+FFFD.
    const chunk = Buffer.concat([Buffer.from(text), Buffer.from([0xff]), Buffer.from(': Failed \ntail')]);
    // Each line kept, and the message start passed with it.
    const lines: string[] = [];
    const at: number[] = [];
    let skipped = 0;
    const splitter = (max: number) =>
      new LineSplitter(
        max,
        (l, messageAt) => {
          lines.push(l);
          at.push(messageAt);
        },
        () => undefined,
        { starts: ['Failed ', 'Accepted '], after: ': ', skipped: (n) => (skipped += n) },
      );
    const s = splitter(1000);
    s.push(chunk);
    s.push(Buffer.from(' end\n'));
    assert.deepEqual(lines, [
      'Failed x',
      'h p[1]: Accepted y',
      '\u00e9 q: Accepted z',
      '\uFFFD: Failed ',
      'tail end', // the unfinished line is completed and passed on whole
    ]);
    // No message start is given in a piece that is not all ASCII (byte and character offsets
    // differ there), nor for a line completed across chunks.
    assert.deepEqual(at, [-1, -1, -1, -1, -1]);
    // "b Failed" (not at the start), "h: Failed" (no space after), "h p: b: Failed w" (not
    // after the first separator), "c".
    assert.equal(skipped, 4);
    // In ASCII: where the message starts when the prefilter found it there; not for a line
    // kept by its own start, nor when the message is cut off by the maximum length.
    lines.length = 0;
    at.length = 0;
    splitter(20).push(
      Buffer.from('Failed x\nh p[1]: Accepted y\r\nhost prog[123]: Failed long\nh p: Failed x: y\n'),
    );
    assert.deepEqual(lines, ['Failed x', 'h p[1]: Accepted y', 'host prog[123]: Fail', 'h p: Failed x: y']);
    assert.deepEqual(at, [-1, 8, -1, 5]);
    assert.equal(skipped, 4, 'all four lines of the ASCII chunk are kept');
  });

  it('a prefilter counts every line and cuts over-long ones, across chunk boundaries', () => {
    const all = Buffer.from(
      `x: Failed 1\nnothing\nx: Failed and a very long tail\nFailed 2\n${'y'.repeat(40)}\nx: Failed 3\n`,
    );
    // Every split of the input into two chunks gives the same result.
    for (let cut = 0; cut <= all.length; cut++) {
      const lines: string[] = [];
      let truncated = 0;
      let skipped = 0;
      const s = new LineSplitter(
        16,
        (l) => lines.push(l),
        () => truncated++,
        { starts: ['Failed '], after: ': ', skipped: (n) => (skipped += n) },
      );
      s.push(all.subarray(0, cut));
      s.push(all.subarray(cut));
      const kept = lines.filter((l) => l.includes('Failed'));
      assert.deepEqual(kept, ['x: Failed 1', 'x: Failed and a ', 'Failed 2', 'x: Failed 3'], `cut at ${cut}`);
      assert.equal(lines.length + skipped, 6, `cut at ${cut}: every line counted once`);
      assert.equal(truncated, 2, `cut at ${cut}`);
    }
  });
  it('gives what a plain split gives, for lines of every length around its 64 KiB pieces, ASCII or not, in any chunks', () => {
    let seed = 17;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    const starts = ['Failed ', 'Accepted '];
    const after = ': ';
    const startsAt = (t: string, at: number) => starts.some((k) => t.startsWith(k, at));
    for (const max of [100, 70_000, 300_000]) {
      for (const filter of [false, true]) {
        // Lines of 0 bytes to 200 KiB: ASCII, with é/€ (2 and 3 bytes), with a stray byte.
        const parts: Buffer[] = [];
        for (let i = 0; i < 400; i++) {
          const len = pick([0, 1, 20, 90, 101, 5000, 65_535, 65_536, 70_001, 200_000]);
          const head = pick(['Failed x ', 'h sshd[1]: Accepted y ', 'other ', 'h p: Failed z ', '']);
          const body = head + 'a'.repeat(Math.max(0, len - head.length));
          const kind = rand();
          let line = Buffer.from(body);
          if (kind < 0.1) line = Buffer.from(`${body.slice(0, Math.floor(len / 2))}é€${body.slice(len / 2)}`);
          else if (kind < 0.15) line = Buffer.concat([line, Buffer.from([0xff])]);
          parts.push(line, Buffer.from(rand() < 0.1 ? '\r\n' : '\n'));
        }
        const all = Buffer.concat(parts);
        // The reference: split the bytes, cut to max bytes, decode, drop a trailing CR.
        const expected: string[] = [];
        let expectedTruncated = 0;
        for (let p = 0; p < all.length;) {
          const nl = all.indexOf(10, p);
          const whole = all.subarray(p, nl);
          p = nl + 1;
          if (filter) {
            const t = whole.toString('latin1');
            const sep = t.indexOf(after);
            if (!startsAt(t, 0) && !(sep >= 0 && startsAt(t, sep + after.length))) continue;
          }
          if (whole.length > max) expectedTruncated++;
          const text = whole.subarray(0, max).toString('utf8');
          expected.push(text.endsWith('\r') ? text.slice(0, -1) : text);
        }
        if (!filter) assert.equal(expected.length, 400);
        const lines: string[] = [];
        let truncated = 0;
        let skipped = 0;
        let hinted = 0;
        const s = new LineSplitter(
          max,
          (l, messageAt) => {
            lines.push(l);
            if (messageAt === -1) return;
            // A message start given is exactly where the line's message starts.
            hinted++;
            assert.ok(filter && !startsAt(l, 0), l.slice(0, 40));
            assert.equal(messageAt, l.indexOf(after) + after.length, l.slice(0, 40));
            assert.ok(startsAt(l, messageAt), l.slice(0, 40));
          },
          () => truncated++,
          filter ? { starts, after, skipped: (n) => (skipped += n) } : undefined,
        );
        // Chunks of 1 byte to 3 MiB, read through one reused buffer as the follower does.
        const buf = Buffer.alloc(3 << 20);
        for (let p = 0; p < all.length;) {
          const n = Math.min(all.length - p, pick([1, 7, 4096, 65_536, 1 << 20, 3 << 20]));
          all.copy(buf, 0, p, p + n);
          s.push(buf, 0, n);
          buf.fill(0x21, 0, n);
          p += n;
        }
        const what = `max ${max}, ${filter ? 'with' : 'without'} a prefilter`;
        // A line that spans two chunks is passed on without the prefilter's test (the matcher
        // turns it down): the lines the prefilter would keep are exactly the expected ones.
        const kept = filter
          ? lines.filter((l) => startsAt(l, 0) || (l.includes(after) && startsAt(l, l.indexOf(after) + 2)))
          : lines;
        assert.equal(kept.length, expected.length, what);
        for (let i = 0; i < expected.length; i++) assert.equal(kept[i], expected[i], `${what}: line ${i}`);
        if (filter) assert.equal(lines.length + skipped, 400, what);
        if (filter) assert.ok(hinted > 10, `${what}: ${hinted} lines with their message start`);
        if (!filter) assert.equal(truncated, expectedTruncated, what);
      }
    }
  });
});

describe('Starts', () => {
  it('finds exactly the texts that have one of its starts at the offset, whatever the starts share', () => {
    const rand = seededRandom(5);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    // Starts that share heads and tails, end in spaces or not, or are one character long.
    const words = ['C', 'Co', 'Connection ', 'closed ', 'reset ', 'by ', 'user', ' ', 'x', 'Cx'];
    const piece = () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(words)).join('');
    for (let round = 0; round < 200; round++) {
      const keys = Array.from({ length: 1 + Math.floor(rand() * 6) }, piece);
      const starts = new Starts(keys);
      for (let i = 0; i < 200; i++) {
        // Texts made of the same words (near misses), or a start cut short at the text's end.
        const text = rand() < 0.2 ? pick(keys).slice(0, -1) : piece() + piece();
        const at = Math.floor(rand() * 3);
        const want = keys.some((k) => text.startsWith(k, at));
        assert.equal(
          starts.test(text, at),
          want,
          `${JSON.stringify(keys)} at ${at} of ${JSON.stringify(text)}`,
        );
      }
    }
  });
});

describe('FileFollower', () => {
  it('reads an append at once when the file is watched, without waiting for the poll; says when it caught up', async (t) => {
    const path = join(dir, `f${n++}.log`);
    writeFileSync(path, '');
    const lines: string[] = [];
    let up = false;
    let caughtUp = 0;
    // A poll an hour apart: only the watch can bring the lines in.
    const f = new FileFollower(
      path,
      {
        line: (l) => lines.push(l),
        bytes: () => undefined,
        truncated: () => undefined,
        up: (u) => (up = u),
        error: (e) => assert.fail(e),
        caughtUp: () => caughtUp++,
      },
      { maxLineBytes: 1024, pollMs: 3_600_000 },
    );
    t.after(() => f.close());
    f.start();
    await eventually(() => (up ? true : undefined));
    assert.equal(caughtUp, 0, 'nothing read yet: nothing to report');
    appendFileSync(path, 'one\ntwo\n');
    await eventually(() => (lines.length === 2 ? true : undefined), 10_000, 'the append, through the watch');
    await eventually(() => (caughtUp === 1 ? true : undefined), 10_000, 'caught up');
    appendFileSync(path, 'three\n');
    await eventually(() => (caughtUp === 2 ? true : undefined), 10_000, 'caught up again');
    assert.deepEqual(lines, ['one', 'two', 'three']);
    // A new file renamed over the path (its old file is unlinked, still open): the old
    // file's watch says so, and the new file is watched in turn.
    writeFileSync(`${path}.new`, 'four\n');
    renameSync(`${path}.new`, path);
    await eventually(() => (lines.length === 4 ? true : undefined), 10_000, 'the new file');
    appendFileSync(path, 'five\n');
    await eventually(() => (lines.length === 5 ? true : undefined), 10_000, 'an append to the new file');
    assert.deepEqual(lines.slice(3), ['four', 'five']);
  });

  it('starts at the end of a file present at start, then reads what is appended', async (t) => {
    const { path, f, got, lines } = follow({ create: 'old 1\nold 2\n' });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    appendFileSync(path, 'new 1\n');
    assert.deepEqual(await lines(1), ['new 1']);
  });

  it('buffers a partial line until its newline (two writes)', async (t) => {
    const { path, f, got, lines } = follow({ create: '' });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    appendFileSync(path, 'Failed password for root from 10.0.');
    await settle();
    assert.deepEqual(got.lines, []);
    appendFileSync(path, '0.1 port 22 ssh2\n');
    assert.deepEqual(await lines(1), ['Failed password for root from 10.0.0.1 port 22 ssh2']);
  });

  it('follows rename rotation (logrotate create): old file to its end, then the new one from its start', async (t) => {
    const { path, f, got, lines } = follow({ create: '' });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    appendFileSync(path, 'a\n');
    await lines(1);
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, 'b (written to the old file after the rename)\n');
    writeFileSync(path, 'c\n');
    appendFileSync(path, 'd\n');
    assert.deepEqual(await lines(4), ['a', 'b (written to the old file after the rename)', 'c', 'd']);
  });

  it('reads lines written to the renamed file after the new one is followed (a writer that reopens late)', async (t) => {
    const { path, f, got, lines } = follow({ create: '' });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    appendFileSync(path, 'a\n');
    await lines(1);
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'c (new file)\n');
    // The follower has switched to the new file...
    assert.deepEqual(await lines(2), ['a', 'c (new file)']);
    // ...and the writer, which has not reopened yet, still writes to the old one.
    appendFileSync(`${path}.1`, 'b (old file, after the switch)\n');
    appendFileSync(path, 'd (new file)\n');
    const all = await lines(4);
    assert.deepEqual(all.slice().sort(), [
      'a',
      'b (old file, after the switch)',
      'c (new file)',
      'd (new file)',
    ]);
  });

  it('closes a rotated-away file once it has been idle, and says nothing twice', async (t) => {
    const path = join(dir, `f${n++}.log`);
    writeFileSync(path, '');
    const got: string[] = [];
    const f = new FileFollower(
      path,
      { line: (l) => got.push(l), bytes: () => {}, truncated: () => {}, up: () => {}, error: () => {} },
      { maxLineBytes: 1024, pollMs: 20, rotateIdleMs: 100 },
    );
    t.after(() => f.close());
    f.start();
    await settle();
    appendFileSync(path, 'one\n');
    await eventually(() => (got.length === 1 ? true : undefined));
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'two\n');
    await eventually(() => (got.length === 2 ? true : undefined));
    // Idle for well over rotateIdleMs: the old file is closed, later writes to it are not read.
    await eventually(async () => {
      await settle();
      return (f as unknown as { retired: unknown[] }).retired.length === 0 ? true : undefined;
    });
    appendFileSync(`${path}.1`, 'late\n');
    appendFileSync(path, 'three\n');
    await eventually(() => (got.length === 3 ? true : undefined));
    await settle();
    assert.deepEqual(got, ['one', 'two', 'three']);
  });

  it('detects copytruncate by the first bytes when a fast writer refills the file past the old position', async (t) => {
    const { path, f, got, lines } = follow({ create: '' });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    appendFileSync(path, 'short\n');
    await lines(1);
    // Truncated and refilled with more bytes than were read, before the next poll.
    writeFileSync(path, 'first line after the truncation\nsecond\n');
    assert.deepEqual(await lines(3), ['short', 'first line after the truncation', 'second']);
  });

  it('follows copytruncate: a shrunk file is read again from 0', async (t) => {
    const { path, f, got, lines } = follow({ create: '' });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    appendFileSync(path, 'line one is long enough\nline two is long enough\n');
    await lines(2);
    truncateSync(path, 0);
    await settle();
    appendFileSync(path, 'after\n');
    assert.deepEqual(await lines(3), ['line one is long enough', 'line two is long enough', 'after']);
  });

  it('survives deletion and re-creation; down while the file is missing', async (t) => {
    const { path, f, got, lines } = follow({ create: '' });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    appendFileSync(path, 'x\n');
    await lines(1);
    unlinkSync(path);
    await eventually(() => (got.up.at(-1) === false ? true : undefined), 5000, 'down');
    writeFileSync(path, 'y\nz\n');
    assert.deepEqual(await lines(3), ['x', 'y', 'z']);
    assert.deepEqual(got.up, [true, false, true]);
    assert.deepEqual(got.errors, []);
  });

  it('reads a file missing at start from its beginning when it appears', async (t) => {
    const { path, f, got, lines } = follow();
    t.after(() => f.close());
    await eventually(() => (got.up[0] === false ? true : undefined));
    writeFileSync(path, 'first\nsecond\n');
    assert.deepEqual(await lines(2), ['first', 'second']);
  });

  it('catches up multi-MiB appends to two files at once, reading ahead: every line once, in order', async (t) => {
    // Two followers share the read buffers, each reading its next chunk while it handles
    // one: ~6 MiB each (a dozen chunks, more than one 4 MiB turn), lines of varied length
    // so that they straddle every chunk boundary.
    const a = follow({ create: '', maxLineBytes: 4096 });
    const b = follow({ create: '', maxLineBytes: 4096 });
    t.after(() => Promise.all([a.f.close(), b.f.close()]));
    await eventually(() => (a.got.up[0] === true && b.got.up[0] === true ? true : undefined));
    const make = (tag: string) =>
      Array.from({ length: 60_000 }, (_, i) => `${tag} ${i} ${'x'.repeat((i * 37) % 200)}`);
    const want = { a: make('a'), b: make('b') };
    const bytes = (ls: string[]) => Buffer.from(ls.map((l) => `${l}\n`).join(''));
    // Two appends each, interleaved: the second lands while the first is being caught up.
    const half = 30_000;
    appendFileSync(a.path, bytes(want.a.slice(0, half)));
    appendFileSync(b.path, bytes(want.b.slice(0, half)));
    appendFileSync(a.path, bytes(want.a.slice(half)));
    appendFileSync(b.path, bytes(want.b.slice(half)));
    const [gotA, gotB] = await Promise.all([a.lines(want.a.length), b.lines(want.b.length)]);
    assert.ok(bytes(want.a).length > 6 * 1024 * 1024, 'more than a turn of 4 MiB');
    assert.equal(gotA.length, want.a.length);
    assert.equal(gotB.length, want.b.length);
    for (let i = 0; i < want.a.length; i++) {
      if (gotA[i] !== want.a[i]) assert.fail(`a: line ${i}: ${gotA[i]?.slice(0, 40)}`);
      if (gotB[i] !== want.b[i]) assert.fail(`b: line ${i}: ${gotB[i]?.slice(0, 40)}`);
    }
    assert.equal(a.got.bytes, bytes(want.a).length);
    assert.deepEqual([a.got.errors, b.got.errors], [[], []]);
  });

  it('cuts a 10 MB line, counts it, and stays bounded in memory; garbage bytes never throw', async (t) => {
    const { path, f, got, lines } = follow({ create: '', maxLineBytes: 64 * 1024 });
    t.after(() => f.close());
    await eventually(() => (got.up[0] === true ? true : undefined));
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    appendFileSync(
      path,
      Buffer.concat([Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x0a]), big, Buffer.from('\nafter\n')]),
    );
    const got3 = await lines(3);
    assert.equal(got3[0], '\uFFFD\u0000\uFFFD(');
    assert.equal(got3[1]!.length, 64 * 1024);
    assert.equal(got3[2], 'after');
    assert.equal(got.truncated, 1);
    assert.equal(got.bytes, big.length + 5 + 7);
  });
});
