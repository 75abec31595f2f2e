import type { Logger } from '../internal/log.js';
import { timeoutSignal } from '../internal/timeout.js';
import type { Notification } from './outbox.js';
import type { Alert } from './payload.js';

/**
 * What is true now, for resolved messages. Alertmanager sends the annotations rendered when
 * the alert fired (a resolved DiskSpaceLow still reads "91% full"), so before a resolved
 * notification is sent the notifier asks Prometheus (`notifier.prometheus_url`) for the
 * current value of each resolved alert's expression, taken from its generatorURL
 * (`/graph?g0.expr=…`, as Prometheus builds it): the left-hand side of the expression's
 * comparison (`disk_used_ratio > 0.9` → `disk_used_ratio`), the series whose labels agree with
 * the alert's. Anything that does not work out (no URL, no comparison, Prometheus down or
 * slow, no matching series) leaves the message without a current value; it is never an error.
 */

const KEYWORDS = /^(and|or|unless)\b/i;
const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'];

/**
 * The left-hand side of the first top-level comparison of the first operand of a top-level
 * `and`/`unless`/`or`; undefined when there is none (nothing to compare against: no "value").
 */
export function valueExpression(expr: string): string | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (depth === 0) {
      const before = i === 0 ? ' ' : expr[i - 1]!;
      if (/\s/.test(before) && KEYWORDS.test(expr.slice(i))) return undefined;
      const op = COMPARISONS.find((o) => expr.startsWith(o, i));
      // `=~` and `!~` only occur inside braces; `=` alone is not a comparison.
      if (op) {
        const lhs = expr.slice(0, i).trim();
        return lhs === '' ? undefined : lhs;
      }
    }
  }
  return undefined;
}

/** The expression of a Prometheus generatorURL, if it is one. */
export function generatorExpression(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.searchParams.get('g0.expr') ?? undefined;
  } catch {
    return undefined;
  }
}

/** 0.71534 → "0.7153"; 1234567 → "1234567"; 1e-9 → "1e-9". */
export function formatValue(text: string): string {
  const v = Number(text);
  if (!Number.isFinite(v)) return text;
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e6) return String(Number(v.toPrecision(4)));
  return v.toPrecision(4).replace(/\.?0+e/, 'e');
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** The sample whose every label (but __name__) the alert carries with the same value. */
function matching(samples: VectorSample[], labels: Record<string, string>): VectorSample | undefined {
  return samples.find((s) => Object.entries(s.metric).every(([k, v]) => k === '__name__' || labels[k] === v));
}

export interface CurrentValuesOptions {
  prometheusUrl: string;
  log: Logger;
  /** Per query; the whole lookup is also bounded by the send's signal. */
  timeoutMs?: number;
}

/**
 * Returns the `enrich` function of the delivery: a resolved notification gets `current`
 * (fingerprint → value now). One lookup per notification, shared by its channels.
 */
export function currentValues(opts: CurrentValuesOptions) {
  const base = opts.prometheusUrl.replace(/\/+$/, '');
  const cache = new WeakMap<Notification, Promise<Record<string, string>>>();

  async function query(expr: string, signal: AbortSignal): Promise<VectorSample[] | undefined> {
    // Bounded by its own timer (cleared when the query ends) and by the send's signal.
    const bound = timeoutSignal(opts.timeoutMs ?? 5000, signal);
    let text: string;
    try {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`, {
        signal: bound.signal,
        redirect: 'error',
      });
      if (!res.ok) return undefined;
      text = await res.text();
    } finally {
      bound.clear();
    }
    if (text.length > 1024 * 1024) return undefined;
    const body = JSON.parse(text) as { status?: string; data?: { resultType?: string; result?: unknown } };
    if (body.status !== 'success' || body.data?.resultType !== 'vector' || !Array.isArray(body.data.result))
      return undefined;
    return body.data.result as VectorSample[];
  }

  async function lookup(alerts: Alert[], signal: AbortSignal): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const byExpr = new Map<string, Alert[]>();
    for (const a of alerts) {
      const expr = generatorExpression(a.generatorURL);
      const lhs = expr ? valueExpression(expr) : undefined;
      if (!lhs || !a.fingerprint) continue;
      byExpr.set(lhs, [...(byExpr.get(lhs) ?? []), a]);
    }
    for (const [expr, group] of byExpr) {
      try {
        const samples = await query(expr, signal);
        if (!samples) continue;
        for (const a of group) {
          const s = matching(samples, a.labels);
          if (s) out[a.fingerprint] = formatValue(s.value[1]);
        }
      } catch (err) {
        opts.log.debug('current value lookup failed; the resolved message goes without it', {
          err: (err as Error).message,
        });
      }
    }
    return out;
  }

  return async (message: Notification, signal: AbortSignal): Promise<Notification> => {
    const resolved = message.payload.alerts.filter((a) => a.status === 'resolved');
    if (resolved.length === 0) return message;
    let pending = cache.get(message);
    if (!pending) {
      pending = lookup(resolved, signal).catch(() => ({}));
      cache.set(message, pending);
    }
    const current = await pending;
    return Object.keys(current).length > 0 ? { ...message, current } : message;
  };
}
