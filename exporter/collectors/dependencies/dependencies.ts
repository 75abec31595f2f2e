import { Gauge, Registry } from 'prom-client';
import { parseHostPort, type Config } from '../../../config/schema.js';
import type { Logger } from '../../../internal/log.js';
import { compileUserRegex } from '../../../config/user-regex.js';
import type { ApplyResult, RegistryCollector } from '../../collector.js';
import type { DeepHealth } from './health.js';
import { runProbe, type ProbeKind, type ProbeResult, type ProbeTarget } from '../../sources/probes.js';
import type { CollectorDeps } from '../../collector.js';

/**
 * Probes of the services the application depends on (an API, MinIO, a database port),
 * in parallel, each bounded by its own timeout (blackbox_exporter's probes, with the
 * reason of a failure). The last results also answer GET /health/deep, without probing.
 */

type TargetConfig = Config['collectors']['dependencies']['targets'][number];

interface Target {
  name: string;
  kind: ProbeKind;
  slowThresholdSeconds: number;
  probe: ProbeTarget;
}

interface Checked {
  target: Target;
  result: ProbeResult;
}

/** Turns a validated config entry into what the probe needs. */
export function probeTarget(t: TargetConfig, maxBodyBytes?: number): ProbeTarget {
  const base = {
    kind: t.kind,
    tlsVerify: t.tls_verify,
    timeoutMs: t.probe_timeout,
  };
  if (t.kind === 'tcp') {
    const { host, port } = parseHostPort(t.address!);
    return { ...base, host, port, tls: t.tls };
  }
  return {
    ...base,
    url: t.url!,
    ...(t.valid_status ? { validStatus: t.valid_status } : {}),
    ...(t.body_regex !== undefined ? { bodyRegex: compileUserRegex(t.body_regex) } : {}),
    ...(t.headers ? { headers: t.headers } : {}),
    ...(t.bearer_token_file ? { bearerToken: t.bearer_token_file } : {}),
    ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
  };
}

export class DependenciesCollector implements RegistryCollector {
  readonly name = 'dependencies';
  readonly registry = new Registry();

  private readonly log: Logger;
  private readonly targets: Target[];
  /** Unix seconds of each target's last success, kept across runs; 0 before the first. */
  private readonly lastSuccess = new Map<string, number>();
  /** Last failure message logged per target, so a lasting failure is logged once. */
  private readonly failing = new Map<string, string>();
  private last?: { checkedAt: Date; checked: Checked[] };

  private readonly up: Gauge<'name' | 'kind'>;
  private readonly duration: Gauge<'name'>;
  private readonly lastSuccessGauge: Gauge<'name'>;
  private readonly certExpiry: Gauge<'name'>;
  private readonly failureReason: Gauge<'name' | 'reason'>;
  private readonly statusCode: Gauge<'name'>;
  private readonly slowThreshold: Gauge<'name'>;

  constructor(deps: CollectorDeps) {
    const cfg = deps.config.collectors.dependencies;
    this.log = deps.log.child({ collector: 'dependencies' });
    this.targets = cfg.targets.map((t) => ({
      name: t.name,
      kind: t.kind,
      slowThresholdSeconds: t.slow_threshold / 1000,
      probe: probeTarget(t, cfg.max_body_size),
    }));
    for (const t of this.targets) this.lastSuccess.set(t.name, 0);

    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
    this.up = gauge(
      'watchpost_dependency_up',
      'Whether the last probe of the dependency succeeded (1) or failed (0).',
      ['name', 'kind'],
    );
    this.duration = gauge(
      'watchpost_dependency_duration_seconds',
      'How long the last probe of the dependency took, in seconds, up to its probe timeout.',
      ['name'],
    );
    this.lastSuccessGauge = gauge(
      'watchpost_dependency_last_success_timestamp_seconds',
      'Unix time in seconds of the last successful probe of the dependency since the exporter started; 0 before the first.',
      ['name'],
    );
    this.certExpiry = gauge(
      'watchpost_dependency_tls_cert_expiry_timestamp_seconds',
      "Unix time in seconds at which the dependency's TLS certificate expires (https and tcp with tls, when the handshake completed).",
      ['name'],
    );
    this.failureReason = gauge(
      'watchpost_dependency_failure_reason',
      'Set to 1 for the reason the last probe of the dependency failed (dns, connect, tls, timeout, status or body); absent while it is up.',
      ['name', 'reason'],
    );
    this.statusCode = gauge(
      'watchpost_dependency_status_code',
      'HTTP status code of the last response of the dependency (http and https, when a response arrived).',
      ['name'],
    );
    this.slowThreshold = gauge(
      'watchpost_dependency_slow_threshold_seconds',
      'Probe duration in seconds above which the dependency counts as slow, from the watchpost configuration.',
      ['name'],
    );
  }

  async collect(signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    const checked = await Promise.all(
      this.targets.map(async (target) => ({ target, result: await runProbe(target.probe, signal) })),
    );
    signal.throwIfAborted();
    const checkedAt = new Date();
    return () => this.apply(checkedAt, checked);
  }

  /** The last results, for GET /health/deep: it never probes, so it never waits. */
  health(): { status: 200 | 503; body: DeepHealth } {
    if (!this.last) {
      return {
        status: 503,
        body: {
          status: 'down',
          checkedAt: null,
          message:
            'the dependencies have not been checked yet; the first check runs when the exporter starts',
          dependencies: [],
        },
      };
    }
    const dependencies = this.last.checked.map(({ target, result }) => {
      const last = this.lastSuccess.get(target.name) ?? 0;
      return {
        name: target.name,
        kind: target.kind,
        up: result.ok,
        reason: result.reason ?? null,
        message: result.message,
        durationSeconds: result.durationSeconds,
        lastSuccess: last > 0 ? new Date(last * 1000).toISOString() : null,
        certExpiry:
          result.certNotAfter !== undefined ? new Date(result.certNotAfter * 1000).toISOString() : null,
      };
    });
    const allUp = dependencies.every((d) => d.up);
    return {
      status: allUp ? 200 : 503,
      body: { status: allUp ? 'up' : 'down', checkedAt: this.last.checkedAt.toISOString(), dependencies },
    };
  }

  /** The only place metrics (and the state /health/deep reads) are written. */
  private apply(checkedAt: Date, checked: Checked[]): void {
    this.last = { checkedAt, checked };
    for (const g of [
      this.up,
      this.duration,
      this.lastSuccessGauge,
      this.certExpiry,
      this.failureReason,
      this.statusCode,
      this.slowThreshold,
    ])
      g.reset();
    for (const { target, result } of checked) {
      const name = target.name;
      if (result.ok) this.lastSuccess.set(name, checkedAt.getTime() / 1000);
      this.logChange(name, result);
      this.up.set({ name, kind: target.kind }, result.ok ? 1 : 0);
      this.duration.set({ name }, result.durationSeconds);
      this.lastSuccessGauge.set({ name }, this.lastSuccess.get(name) ?? 0);
      this.slowThreshold.set({ name }, target.slowThresholdSeconds);
      if (result.certNotAfter !== undefined) this.certExpiry.set({ name }, result.certNotAfter);
      if (result.statusCode !== undefined) this.statusCode.set({ name }, result.statusCode);
      if (!result.ok && result.reason) this.failureReason.set({ name, reason: result.reason }, 1);
    }
  }

  private logChange(name: string, result: ProbeResult): void {
    if (result.ok) {
      if (this.failing.delete(name)) this.log.info('dependency up again', { dependency: name });
      return;
    }
    const what = `${result.reason ?? ''}: ${result.message}`;
    if (this.failing.get(name) === what) return;
    this.failing.set(name, what);
    this.log.warn('dependency down', { dependency: name, reason: result.reason, err: result.message });
  }
}
