import { statSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { CgroupStats } from './cgroup.js';

/**
 * Source adapter for the Docker Engine API, read-only: list, inspect, events, stats and
 * logs. The parsers of what the API returns are pure functions, tested on captured
 * responses (fixtures/docker-*).
 *
 * The API is plain HTTP over the daemon's socket (https://docs.docker.com/reference/api/engine/),
 * and these six GET calls need no client library: dockerode and what it pulls in (ssh2,
 * gRPC, protobufjs, tar) added ~28 MiB to the exporter's memory (docs/architecture.md,
 * "Footprint"). Paths are unversioned, so the daemon answers in its own API version,
 * as it did for dockerode.
 */

export const CONTAINER_STATES = [
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];
export const HEALTH_STATUSES = ['healthy', 'unhealthy', 'starting', 'none'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** What the collector keeps of one container, from GET /containers/<id>/json. */
export interface ContainerInfo {
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  /** The image as the container was created with it (Config.Image), e.g. "nginx:1.27". */
  image: string;
  composeProject: string;
  composeService: string;
  state: ContainerState;
  health: HealthStatus;
  exitCode: number;
  oomKilled: boolean;
  restartCount: number;
  /** Unix seconds of the last start; undefined if it never started. */
  startedAt: number | undefined;
}

/** Where to connect for an endpoint the config schema accepted. */
export type DockerOptions =
  { socketPath: string } | { host: string; port: number; protocol: 'http' | 'https' };

/** The connection options for an endpoint the config schema accepted. */
export function dockerOptions(endpoint: string): DockerOptions {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length) };
  const url = new URL(endpoint.replace(/^tcp:/, 'http:'));
  return {
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  };
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Docker's zero time, written for a container that never started. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Parses Docker's RFC 3339 timestamps (nanosecond precision) to Unix seconds. */
export function parseDockerTime(t: string): number | undefined {
  if (t === '' || t === ZERO_TIME) return undefined;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return undefined;
  const frac = m[2] ? Number(`0.${m[2]}`) : 0;
  return whole / 1000 + frac;
}

/** The collector's view of one container from the body of GET /containers/<id>/json. */
export function containerFromInspect(body: unknown): ContainerInfo {
  const b = obj(body);
  const id = str(b.Id);
  if (!id) throw new Error('container inspect: no Id in the response');
  const state = obj(b.State);
  const config = obj(b.Config);
  const labels = obj(config.Labels);
  const status = str(state.Status) as ContainerState;
  const health = str(obj(state.Health).Status);
  return {
    id,
    name: str(b.Name).replace(/^\//, ''),
    image: str(config.Image) || str(b.Image),
    composeProject: str(labels['com.docker.compose.project']),
    composeService: str(labels['com.docker.compose.service']),
    state: (CONTAINER_STATES as readonly string[]).includes(status) ? status : 'dead',
    health: (HEALTH_STATUSES as readonly string[]).includes(health) ? (health as HealthStatus) : 'none',
    exitCode: num(state.ExitCode),
    oomKilled: state.OOMKilled === true,
    restartCount: num(b.RestartCount),
    startedAt: parseDockerTime(str(state.StartedAt)),
  };
}

/**
 * CPU and memory from the body of GET /containers/<id>/stats?stream=false. Memory usage
 * is the raw `usage` (as cgroup v1's memory.usage_in_bytes), so both paths agree.
 */
export function statsFromApi(body: unknown): CgroupStats {
  const b = obj(body);
  const out: CgroupStats = {};
  const cpu = obj(obj(b.cpu_stats).cpu_usage).total_usage;
  if (typeof cpu === 'number') out.cpuSeconds = cpu / 1e9;
  const mem = obj(b.memory_stats);
  if (typeof mem.usage === 'number') out.memoryUsageBytes = mem.usage;
  // With no limit, Docker reports the host's memory as the limit; kept as it says.
  if (typeof mem.limit === 'number' && mem.limit > 0 && mem.limit < 2 ** 62) out.memoryLimitBytes = mem.limit;
  return out;
}

/** One container event from GET /events. */
export interface DockerEvent {
  id: string;
  /** The action without its detail: "health_status: healthy" -> "health_status". */
  action: string;
  /** The whole action string as Docker sent it. */
  rawAction: string;
}

/** A JSON object of the events stream, or undefined for one that is not a container event. */
export function parseEvent(line: string): DockerEvent | undefined {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    return undefined;
  }
  const b = obj(body);
  const type = str(b.Type) || str(b.type);
  if (type !== 'container') return undefined;
  const id = str(obj(b.Actor).ID) || str(b.id);
  const rawAction = str(b.Action) || str(b.status);
  if (!id || !rawAction) return undefined;
  const colon = rawAction.indexOf(':');
  return { id, rawAction, action: (colon >= 0 ? rawAction.slice(0, colon) : rawAction).trim() };
}

/**
 * Splits the events stream into lines: a chunk may hold part of a line or several.
 * Docker writes one JSON object per line.
 */
export class EventLineSplitter {
  private rest = '';

  push(chunk: Buffer | string): DockerEvent[] {
    const text = this.rest + chunk.toString();
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    // A line that never ends is not kept forever.
    if (this.rest.length > 1 << 20) this.rest = '';
    const out: DockerEvent[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      const ev = parseEvent(line);
      if (ev) out.push(ev);
    }
    return out;
  }
}

/** The calls made through a DockerSource, counted (tests assert steady state is cheap). */
export interface DockerCalls {
  list: number;
  inspect: number;
  stats: number;
  events: number;
}

/** Whether an error is the API's 404 (no such container). */
function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

/** An answer of the Docker API other than 2xx; `statusCode` and the daemon's message. */
export class DockerApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(`HTTP ${statusCode}: ${message}`);
    this.name = 'DockerApiError';
  }
}

/** The most of a JSON answer read (a list of ten thousand containers is ~20 MiB). */
const MAX_JSON_BYTES = 128 * 2 ** 20;

type Query = Record<string, string | number | boolean | object | undefined>;

function queryString(query: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(text)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** Read-only access to one Docker endpoint. */
export class DockerSource {
  readonly calls: DockerCalls = { list: 0, inspect: 0, stats: 0, events: 0 };
  private readonly options: DockerOptions;
  /**
   * Keep-alive connections for the short calls (a resync inspects every container); a
   * free one does not keep the process alive (node:http unrefs it).
   */
  private readonly agent: http.Agent;

  constructor(readonly endpoint: string) {
    this.options = dockerOptions(endpoint);
    const AgentClass =
      'protocol' in this.options && this.options.protocol === 'https' ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: 32, maxFreeSockets: 4, timeout: 30_000 });
  }

  /** Opens GET `path` and resolves with the response once its headers are in; rejects on a non-2xx answer. */
  private open(path: string, signal: AbortSignal | undefined, stream: boolean): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const o = this.options;
      const lib = 'protocol' in o && o.protocol === 'https' ? https : http;
      const req = lib.request(
        {
          method: 'GET',
          path,
          ...('socketPath' in o ? { socketPath: o.socketPath } : { host: o.host, port: o.port }),
          // A long-lived stream gets a connection of its own, never one from the pool.
          agent: stream ? false : this.agent,
          headers: { Accept: 'application/json' },
          signal,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(res);
            return;
          }
          readBody(res, 64 * 1024).then(
            (body) => reject(new DockerApiError(status, apiMessage(body) || res.statusMessage || 'error')),
            reject,
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  private async json(path: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.open(path, signal, false);
    const body = await readBody(res, MAX_JSON_BYTES);
    try {
      return JSON.parse(body);
    } catch {
      throw new Error(`GET ${path.replace(/\?.*/, '')}: the answer is not JSON`);
    }
  }

  /**
   * The ids of every container, in all states (GET /containers/json?all=1); with `labels`
   * ("key" or "key=value", all must match) only the containers that carry them.
   */
  async listIds(signal?: AbortSignal, labels: readonly string[] = []): Promise<string[]> {
    this.calls.list++;
    const filters = labels.length > 0 ? { label: [...labels] } : undefined;
    const list = await this.wrap(this.json(`/containers/json${queryString({ all: 1, filters })}`, signal));
    return (Array.isArray(list) ? list : []).map((c) => str(obj(c).Id)).filter((id) => id !== '');
  }

  /** GET /containers/<id>/json; undefined when the container no longer exists. */
  async inspect(id: string, signal?: AbortSignal): Promise<ContainerInfo | undefined> {
    this.calls.inspect++;
    try {
      const body = await this.wrap(this.json(`/containers/${encodeURIComponent(id)}/json`, signal));
      return containerFromInspect(body);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** GET /containers/<id>/stats?stream=false&one-shot=true (Docker 20.10+: no 1 s wait for a second sample). */
  async stats(id: string, signal?: AbortSignal): Promise<CgroupStats | undefined> {
    this.calls.stats++;
    try {
      const path = `/containers/${encodeURIComponent(id)}/stats${queryString({ stream: false, 'one-shot': true })}`;
      const body = await this.wrap(this.json(path, signal));
      return statsFromApi(body);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * GET /events?filters={"type":["container"]}: a stream of JSON lines, open until closed;
   * with `labels`, only the events of containers that carry them (as listIds).
   */
  async events(labels: readonly string[] = []): Promise<Readable> {
    this.calls.events++;
    const filters: { type: 'container'[]; label?: string[] } = { type: ['container'] };
    if (labels.length > 0) filters.label = [...labels];
    return this.wrap(this.open(`/events${queryString({ filters })}`, undefined, true));
  }

  /**
   * The container a log source names: by container name, or by Compose labels (the
   * running one first, then by name, when a service has several). Undefined when none.
   */
  async findContainer(
    target: { name?: string; composeService?: string; composeProject?: string },
    signal?: AbortSignal,
  ): Promise<{ id: string; name: string; running: boolean; tty: boolean } | undefined> {
    let ref = target.name;
    if (ref === undefined) {
      this.calls.list++;
      const label = [`com.docker.compose.service=${target.composeService ?? ''}`];
      if (target.composeProject !== undefined)
        label.push(`com.docker.compose.project=${target.composeProject}`);
      const body = await this.wrap(
        this.json(`/containers/json${queryString({ all: 1, filters: { label } })}`, signal),
      );
      const list = (Array.isArray(body) ? body : []).map((c) => {
        const o = obj(c);
        const names = Array.isArray(o.Names) ? o.Names : [];
        return { id: str(o.Id), running: o.State === 'running', name: str(names[0]) };
      });
      list.sort((a, b) => Number(b.running) - Number(a.running) || a.name.localeCompare(b.name));
      ref = list[0]?.id || undefined;
      if (ref === undefined) return undefined;
    }
    this.calls.inspect++;
    try {
      const body = (await this.wrap(this.json(`/containers/${encodeURIComponent(ref)}/json`, signal))) as {
        Id: string;
        Name?: string;
        State?: { Running?: boolean };
        Config?: { Tty?: boolean };
      };
      return {
        id: body.Id,
        name: (body.Name ?? '').replace(/^\//, ''),
        running: body.State?.Running === true,
        tty: body.Config?.Tty === true,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * GET /containers/<id>/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=<s>: open
   * until the container stops or the stream is closed. Without a TTY the body is
   * multiplexed (8-byte frame headers; see DockerLogDemuxer).
   */
  async logs(id: string, sinceSeconds: number, signal?: AbortSignal): Promise<Readable> {
    const query = queryString({ follow: 1, stdout: 1, stderr: 1, timestamps: 1, since: sinceSeconds });
    return this.wrap(this.open(`/containers/${encodeURIComponent(id)}/logs${query}`, signal, true));
  }

  /** Errors name the endpoint, so "connect ENOENT" says which socket was missing. */
  private async wrap<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (isNotFound(err)) throw err;
      const e = err as Error & { statusCode?: number };
      if (e.name === 'AbortError') throw err;
      const wrapped = new Error(
        `Docker API at ${this.endpoint}: ${e.message ?? String(err)}${socketPermissionHint(this.endpoint, err)}`,
        { cause: err },
      );
      throw wrapped;
    }
  }
}

/** Reads a response body as text, up to `max` bytes (more is an error). */
function readBody(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        res.destroy(new Error(`the answer is larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('the answer was cut off')));
  });
}

/** The daemon's error message: `{"message": "..."}`, else the text itself, shortened. */
function apiMessage(body: string): string {
  try {
    const m = obj(JSON.parse(body)).message;
    if (typeof m === 'string') return m.slice(0, 500);
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 500);
}

/**
 * What to do when the socket refuses this process: in a container the usual cause is a
 * missing group (the socket's group differs from host to host), so name both groups.
 */
export function socketPermissionHint(endpoint: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const denied = e?.code === 'EACCES' || e?.code === 'EPERM' || /\bEACCES\b/.test(e?.message ?? '');
  if (!denied || !endpoint.startsWith('unix://')) return '';
  const path = endpoint.slice('unix://'.length);
  let gid: number | undefined;
  try {
    gid = statSync(path).gid;
  } catch {
    // cannot even stat it: say what we know
  }
  const groups = process.getgroups?.() ?? [];
  const uid = process.getuid?.();
  return (
    ` (permission denied: the socket belongs to group ${gid ?? 'unknown'} and this process` +
    ` (uid ${uid ?? 'unknown'}, groups ${groups.join(',') || 'none'}) is not in it;` +
    ` give it that group: WATCHPOST_DOCKER_GID=${gid ?? '<the socket group id>'} for docker-compose.monitoring.yml,` +
    ` or --group-add; see docs/deploy.md)`
  );
}

/** Delay before reconnect attempt `attempt` (0-based): 0.5 s doubling, capped. */
export function backoffDelay(attempt: number, baseMs = 500, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}

export interface EventWatcherHandlers {
  onEvent(ev: DockerEvent): void;
  /** The stream is open: events from now on arrive; what happened before may be missed. */
  onConnect(): void;
  onDisconnect(err: Error): void;
}

export type WatcherState = 'idle' | 'connecting' | 'connected' | 'down' | 'closed';

/**
 * Keeps one events stream open, reconnecting with exponential backoff (capped at 30 s)
 * when it fails or ends (the daemon restarted, the proxy dropped it).
 */
export class EventWatcher {
  state: WatcherState = 'idle';
  lastError: string | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stream: Readable | undefined;
  private generation = 0;

  constructor(
    private readonly source: Pick<DockerSource, 'events'>,
    private readonly handlers: EventWatcherHandlers,
    private readonly capMs = 30_000,
    private readonly labels: readonly string[] = [],
  ) {}

  start(): void {
    if (this.state === 'idle') void this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    const gen = ++this.generation;
    this.state = 'connecting';
    let stream: Readable;
    try {
      stream = await this.source.events(this.labels);
    } catch (err) {
      if (gen === this.generation) this.fail(gen, err);
      return;
    }
    if (gen !== this.generation) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    this.state = 'connected';
    this.attempt = 0;
    this.lastError = undefined;
    const splitter = new EventLineSplitter();
    stream.on('data', (chunk: Buffer) => {
      if (gen !== this.generation) return;
      for (const ev of splitter.push(chunk)) this.handlers.onEvent(ev);
    });
    stream.on('error', (err) => this.fail(gen, err));
    stream.on('end', () => this.fail(gen, new Error('events stream ended')));
    stream.on('close', () => this.fail(gen, new Error('events stream closed')));
    this.handlers.onConnect();
  }

  private fail(gen: number, err: unknown): void {
    if (gen !== this.generation || this.state === 'closed' || this.state === 'down') return;
    this.state = 'down';
    this.generation++;
    const e = err instanceof Error ? err : new Error(String(err));
    this.lastError = e.message;
    this.stream?.destroy();
    this.stream = undefined;
    const delay = backoffDelay(this.attempt++, 500, this.capMs);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
    this.handlers.onDisconnect(e);
  }

  close(): void {
    this.state = 'closed';
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.stream?.destroy();
    this.stream = undefined;
  }
}
