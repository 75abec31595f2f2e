import type { Readable } from 'node:stream';
import { backoffDelay, parseDockerTime, type DockerSource } from './docker.js';
import type { FollowerEvents } from './file-follower.js';
import { LineSplitter } from './line-splitter.js';
import { ChangeLog } from '../../internal/change-log.js';

/** The one key of the follower's ChangeLog: the container's log stream. */
const STREAM = 'stream';

/**
 * Follows a container's stdout and stderr through the Docker API, as `docker logs -f
 * --since now` would, and keeps following it across restarts and re-creations: the
 * container is looked up again by name (or Compose labels) whenever its stream ends.
 *
 * - First sight: only lines from now on (a restart of the exporter does not count the
 *   history again).
 * - The same container again (restarted, or the connection dropped): lines after the
 *   last one seen, by Docker's timestamps (`timestamps=1`), so nothing is counted twice.
 * - A different container (recreated by Compose): all its lines, since it is new.
 */

/**
 * Splits Docker's multiplexed log stream (containers without a TTY) into payloads:
 * each frame is an 8-byte header [stream (0 stdin, 1 stdout, 2 stderr), 0, 0, 0,
 * size (uint32 big-endian)] then `size` bytes.
 * https://docs.docker.com/reference/api/engine/version/v1.45/#tag/Container/operation/ContainerAttach
 */
export class DockerLogDemuxer {
  private header = Buffer.alloc(8);
  private headerBytes = 0;
  private remaining = 0;
  private stream = 1;

  constructor(
    private readonly onPayload: (stream: number, chunk: Buffer, start: number, end: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(8 - this.headerBytes, chunk.length - pos);
        chunk.copy(this.header, this.headerBytes, pos, pos + take);
        this.headerBytes += take;
        pos += take;
        if (this.headerBytes < 8) return;
        this.headerBytes = 0;
        this.stream = this.header[0] === 2 ? 2 : 1;
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const end = Math.min(chunk.length, pos + this.remaining);
      this.onPayload(this.stream, chunk, pos, end);
      this.remaining -= end - pos;
      pos = end;
    }
  }
}

export interface ContainerTarget {
  name?: string | undefined;
  composeService?: string | undefined;
  composeProject?: string | undefined;
}

export interface ContainerLogFollowerOptions {
  maxLineBytes: number;
  /** Longest wait between attempts to find or reconnect to the container (default 10 s). */
  capMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class ContainerLogFollower {
  /** Id of the container followed last, and the Docker timestamp of its last line. */
  private lastId: string | undefined;
  private lastTs = '';
  private firstSight = true;
  private isUp: boolean | undefined;
  /** A failure is reported once per distinct error, until the stream is up again. */
  private readonly errors = new ChangeLog<Error>((_, __, err) => this.events.error(err));
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private stream: Readable | undefined;

  constructor(
    private readonly source: Pick<DockerSource, 'findContainer' | 'logs'>,
    private readonly target: ContainerTarget,
    private readonly events: FollowerEvents,
    private readonly opts: ContainerLogFollowerOptions,
  ) {}

  start(): void {
    if (!this.running) this.running = this.run();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    const cap = this.opts.capMs ?? 10_000;
    while (!signal.aborted) {
      let lived = 0;
      try {
        const c = await this.source.findContainer(this.target, signal);
        if (c === undefined || !c.running) {
          this.setUp(false);
          this.errors.ok(STREAM);
          await sleep(backoffDelay(attempt++, 500, cap), signal);
          continue;
        }
        let since = 0;
        let after: number | undefined;
        if (this.firstSight) since = Math.floor(Date.now() / 1000);
        else if (c.id === this.lastId && this.lastTs !== '') {
          after = parseDockerTime(this.lastTs);
          since = Math.floor(after ?? 0);
        }
        if (c.id !== this.lastId) this.lastTs = '';
        this.firstSight = false;
        this.lastId = c.id;
        const opened = Date.now();
        const stream = await this.source.logs(c.id, since, signal);
        this.setUp(true);
        this.errors.ok(STREAM);
        await this.consume(stream, c.tty, after);
        lived = Date.now() - opened;
      } catch (err) {
        if (signal.aborted) break;
        this.setUp(false);
        const e = err instanceof Error ? err : new Error(String(err));
        this.errors.fail(STREAM, e.message, e);
      }
      if (signal.aborted) break;
      // The stream ended: the container stopped, or the connection dropped.
      if (lived > 5000) attempt = 0;
      await sleep(backoffDelay(attempt++, 250, cap), signal);
    }
  }

  /** Reads one logs stream to its end. */
  private consume(stream: Readable, tty: boolean, after: number | undefined): Promise<void> {
    this.stream = stream;
    const onLine = (line: string) => {
      // "2024-05-01T10:00:00.123456789Z message": the timestamp timestamps=1 adds.
      const sp = line.indexOf(' ');
      const ts = sp > 0 ? line.slice(0, sp) : '';
      if (after !== undefined) {
        const t = parseDockerTime(ts);
        if (t !== undefined && t <= after) return;
        after = undefined; // later lines are newer still
      }
      if (ts !== '') this.lastTs = ts;
      this.events.line(sp > 0 ? line.slice(sp + 1) : line, -1);
    };
    // The timestamp (about 31 bytes) does not count against the line limit.
    const max = this.opts.maxLineBytes + 40;
    const splitters = [1, 2].map(() => new LineSplitter(max, onLine, this.events.truncated));
    const demux = tty
      ? undefined
      : new DockerLogDemuxer((s, chunk, start, end) => splitters[s - 1]!.push(chunk, start, end));
    return new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        this.events.bytes(chunk.length);
        if (demux) demux.push(chunk);
        else splitters[0]!.push(chunk);
        // Everything that has arrived is counted (a line still unfinished waits for its end).
        this.events.caughtUp?.(chunk.length);
      });
      stream.once('error', reject);
      stream.once('end', resolve);
      stream.once('close', resolve);
    }).finally(() => {
      for (const s of splitters) s.flush();
      stream.destroy();
      this.stream = undefined;
    });
  }

  private setUp(up: boolean): void {
    if (this.isUp === up) return;
    this.isUp = up;
    this.events.up(up);
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.stream?.destroy();
    await this.running?.catch(() => undefined);
  }
}
