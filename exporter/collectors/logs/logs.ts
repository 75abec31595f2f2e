import { Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../../internal/log.js';
import type { ApplyResult, RegistryCollector } from '../../collector.js';
import { ContainerLogFollower } from '../../sources/docker-logs.js';
import { DockerSource } from '../../sources/docker.js';
import { FileFollower } from '../../sources/file-follower.js';
import { CODE_CLASSES, matcherFor } from '../../sources/log-formats.js';
import { SourceCounts } from './log-counts.js';
import type { CollectorDeps } from '../../collector.js';

/**
 * Log-derived metrics: authentication attempts by result, failures by client, HTTP
 * answers by status class, from files (followed like `tail -F`) and container logs.
 *
 * Reading and matching happen continuously in the background (followers in
 * exporter/sources/), into plain counters held here; a run of the collector only
 * publishes them. Client addresses are outside input, so the clients of each source
 * are kept in an LRU of at most `max_clients`: a flood of random addresses evicts the
 * least recently seen ones (counted) instead of growing the series count.
 */

export { SourceCounts } from './log-counts.js';

type LogsConfig = Config['collectors']['logs'];
type SourceConfig = LogsConfig['sources'][number];

interface Follower {
  start(): void;
  close(): Promise<void>;
}

interface Source {
  config: SourceConfig;
  counts: SourceCounts;
  follower: Follower;
  /** Totals last written to the counters, by metric, so apply() adds the difference. */
  applied: Map<string, number>;
}

export interface LogsCollectorOptions {
  /** Replaces the Docker adapter (tests). */
  docker?: DockerSource;
  /** Milliseconds between checks of each followed file (default 250). */
  pollMs?: number;
}

export class LogsCollector implements RegistryCollector {
  readonly name = 'logs';
  readonly registry = new Registry();

  private readonly log: Logger;
  private readonly sources: Source[] = [];
  private started = false;
  private docker: DockerSource | undefined;

  private readonly authAttempts: Counter<'source' | 'result'>;
  private readonly httpResponses: Counter<'source' | 'code_class'>;
  private readonly failuresByClient: Counter<'source' | 'client'>;
  private readonly clientsEvicted: Counter<'source'>;
  private readonly lines: Counter<'source'>;
  private readonly bytes: Counter<'source'>;
  private readonly truncated: Counter<'source'>;
  private readonly readErrors: Counter<'source'>;
  private readonly parseErrors: Counter<'source'>;
  private readonly up: Gauge<'source'>;

  constructor({ config, log }: CollectorDeps, opts: LogsCollectorOptions = {}) {
    this.log = log.child({ collector: this.name });
    const settings = config.collectors.logs;
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.authAttempts = counter(
      'watchpost_auth_attempts_total',
      'Authentication attempts found in the log of the source, by result (failure or success).',
      ['source', 'result'],
    );
    this.httpResponses = counter(
      'watchpost_http_responses_total',
      'HTTP responses found in the access log of the source, by status class (1xx to 5xx).',
      ['source', 'code_class'],
    );
    this.failuresByClient = counter(
      'watchpost_auth_failures_by_client_total',
      'Failed authentication attempts by client address, for at most max_clients clients per source (the least recently seen are evicted).',
      ['source', 'client'],
    );
    this.clientsEvicted = counter(
      'watchpost_auth_clients_evicted_total',
      'Clients whose failure series was dropped because the source had more than max_clients distinct clients.',
      ['source'],
    );
    this.lines = counter('watchpost_log_lines_total', 'Log lines read from the source.', ['source']);
    this.bytes = counter('watchpost_log_bytes_total', 'Bytes read from the source.', ['source']);
    this.truncated = counter(
      'watchpost_log_lines_truncated_total',
      'Log lines longer than max_line_bytes, cut to that length (the rest of the line is not read).',
      ['source'],
    );
    this.readErrors = counter(
      'watchpost_log_read_errors_total',
      'Failures to read the source, other than the file or container being absent (each distinct error once).',
      ['source'],
    );
    this.parseErrors = counter(
      'watchpost_log_parse_errors_total',
      'Log lines not in the format of the source (nginx and json formats).',
      ['source'],
    );
    this.up = new Gauge({
      name: 'watchpost_log_source_up',
      help: 'Whether the file or container of the source is being followed (1) or is missing or unreachable (0).',
      labelNames: ['source'],
      registers,
    });

    const dockerEndpoint = config.collectors.containers.endpoint;
    for (const config of settings.sources) {
      const counts = new SourceCounts(matcherFor(config), settings.max_clients);
      const events = counts.events((err) =>
        this.log.warn('log source read failed', { source: config.name, error: err.message }),
      );
      let follower: Follower;
      if (config.file !== undefined) {
        follower = new FileFollower(config.file, events, {
          maxLineBytes: settings.max_line_bytes,
          pollMs: opts.pollMs,
          symlinkOutsideFolder: config.symlink_outside_folder,
        });
      } else {
        // Container sources use the Docker endpoint of collectors.containers.
        this.docker ??= opts.docker ?? new DockerSource(dockerEndpoint);
        follower = new ContainerLogFollower(
          this.docker,
          {
            name: config.container,
            composeService: config.compose_service,
            composeProject: config.compose_project,
          },
          events,
          { maxLineBytes: settings.max_line_bytes },
        );
      }
      this.sources.push({ config, counts, follower, applied: new Map() });
    }
  }

  /** For tests and the status page: the running totals of a source. */
  counts(source: string): SourceCounts | undefined {
    return this.sources.find((s) => s.config.name === source)?.counts;
  }

  async collect(): Promise<ApplyResult> {
    if (!this.started) {
      this.started = true;
      for (const s of this.sources) s.follower.start();
    }
    return () => this.apply();
  }

  /** Publishes the running totals: counters grow by what was counted since the last run. */
  private apply(): void {
    for (const s of this.sources) {
      const source = s.config.name;
      const c = s.counts;
      const add = (key: string, counter: Counter<string>, labels: Record<string, string>, total: number) => {
        const before = s.applied.get(key);
        if (before === undefined || total > before) counter.inc(labels, total - (before ?? 0));
        s.applied.set(key, total);
      };
      add('lines', this.lines, { source }, c.lines);
      add('bytes', this.bytes, { source }, c.bytes);
      add('truncated', this.truncated, { source }, c.truncated);
      add('readErrors', this.readErrors, { source }, c.readErrors);
      add('parseErrors', this.parseErrors, { source }, c.parseErrors);
      add('failure', this.authAttempts, { source, result: 'failure' }, c.authFailure);
      add('success', this.authAttempts, { source, result: 'success' }, c.authSuccess);
      add('evicted', this.clientsEvicted, { source }, c.evictions);
      if (s.config.format === 'nginx') {
        for (const cc of CODE_CLASSES) add(cc, this.httpResponses, { source, code_class: cc }, c.http[cc]);
      }
      for (const client of c.evicted) this.failuresByClient.remove({ source, client });
      c.evicted.clear();
      for (const [client, entry] of c.clients) {
        if (entry.count === entry.applied) continue;
        this.failuresByClient.inc({ source, client }, entry.count - entry.applied);
        entry.applied = entry.count;
      }
      this.up.set({ source }, c.up ? 1 : 0);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.follower.close()));
  }
}
