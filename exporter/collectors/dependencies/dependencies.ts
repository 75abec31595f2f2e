import { parseHostPort, type Config } from '../../../config/schema.js';
import { compileUserRegex } from '../../../config/user-regex.js';
import { ChangeLog, Snapshot, type Collector, type CollectorDeps } from '../../collector.js';
import type { DeepHealth } from './health.js';
import * as m from './metrics.js';
import { FAMILIES } from './metrics.js';
import { runProbe, type ProbeKind, type ProbeResult, type ProbeTarget } from '../../sources/probes.js';

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
    tlsVerify: t.tls_verify,
    timeoutMs: t.probe_timeout,
  };
  if (t.kind === 'tcp') {
    const { host, port } = parseHostPort(t.address);
    return { ...base, kind: t.kind, host, port, tls: t.tls };
  }
  return {
    ...base,
    kind: t.kind,
    url: t.url,
    ...(t.valid_status ? { validStatus: t.valid_status } : {}),
    ...(t.body_regex !== undefined ? { bodyRegex: compileUserRegex(t.body_regex) } : {}),
    ...(t.headers ? { headers: t.headers } : {}),
    ...(t.bearer_token_file ? { bearerToken: t.bearer_token_file } : {}),
    ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
  };
}

export class DependenciesCollector implements Collector {
  readonly name = 'dependencies';
  readonly families = FAMILIES;

  private readonly targets: Target[];
  /** Unix seconds of each target's last success, kept across runs; 0 before the first. */
  private lastSuccess = new Map<string, number>();
  /** A lasting failure of a target is logged once per change of reason, and its recovery once. */
  private readonly changes: ChangeLog<ProbeResult>;
  private last?: { checkedAt: Date; checked: Checked[] };

  constructor(deps: CollectorDeps) {
    const cfg = deps.config.collectors.dependencies;
    const log = deps.log.child({ collector: 'dependencies' });
    this.targets = cfg.targets.map((t) => ({
      name: t.name,
      kind: t.kind,
      slowThresholdSeconds: t.slow_threshold / 1000,
      probe: probeTarget(t, cfg.max_body_size),
    }));
    for (const t of this.targets) this.lastSuccess.set(t.name, 0);
    this.changes = new ChangeLog<ProbeResult>(
      (dependency, _what, result) =>
        log.warn('dependency down', { dependency, reason: result.reason, err: result.message }),
      (dependency) => log.info('dependency up again', { dependency }),
    );
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    signal.throwIfAborted();
    const checked = await Promise.all(
      this.targets.map(async (target) => ({ target, result: await runProbe(target.probe, signal) })),
    );
    signal.throwIfAborted();
    const checkedAt = new Date();
    const lastSuccess = new Map(this.lastSuccess);
    const snap = new Snapshot();
    for (const { target, result } of checked) {
      const name = target.name;
      if (result.ok) {
        lastSuccess.set(name, checkedAt.getTime() / 1000);
        this.changes.ok(name);
      } else {
        this.changes.fail(name, `${result.reason ?? ''}: ${result.message}`, result);
      }
      snap.add(m.up, { name, kind: target.kind }, result.ok ? 1 : 0);
      snap.add(m.duration, { name }, result.durationSeconds);
      snap.add(m.lastSuccess, { name }, lastSuccess.get(name) ?? 0);
      snap.add(m.slowThreshold, { name }, target.slowThresholdSeconds);
      if (result.certNotAfter !== undefined) snap.add(m.certExpiry, { name }, result.certNotAfter);
      if (result.statusCode !== undefined) snap.add(m.statusCode, { name }, result.statusCode);
      if (!result.ok && result.reason) snap.add(m.failureReason, { name, reason: result.reason }, 1);
    }
    // What /health/deep reads moves with what /metrics serves: never to a dropped run.
    return snap.onAccept(() => {
      this.last = { checkedAt, checked };
      this.lastSuccess = lastSuccess;
    });
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
}
