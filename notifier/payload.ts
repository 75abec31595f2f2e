import { z } from 'zod';

/**
 * Alertmanager's webhook payload, version 4 (what 0.25 sends; see
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). Unknown extra
 * fields are tolerated, since a later Alertmanager may add some; a field of the wrong type
 * is rejected with a reason that names it.
 */
const labels = (what: string) =>
  z.preprocess(
    (value, ctx) => {
      // JSON.parse makes "__proto__" an own key, which z.record skips without checking its
      // value: a payload with `"labels":{"__proto__":1}` would pass. No label is named so.
      if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__'))
        ctx.addIssue({
          code: 'custom',
          path: ['__proto__'],
          message: `"__proto__" is not a valid name in ${what}`,
          input: value,
        });
      return value;
    },
    z.record(z.string(), z.string({ error: `expected ${what} values to be strings` }), {
      error: `expected ${what} as an object of strings`,
    }),
  );

const timestamp = (what: string) =>
  z
    .string({ error: `expected ${what} as an RFC 3339 time` })
    .refine((s) => !Number.isNaN(Date.parse(s)), { error: `expected ${what} as an RFC 3339 time` });

const status = z.enum(['firing', 'resolved'], { error: 'expected "firing" or "resolved"' });

export const alertSchema = z.object({
  status,
  labels: labels('labels'),
  annotations: labels('annotations').default({}),
  startsAt: timestamp('startsAt'),
  endsAt: timestamp('endsAt').default('0001-01-01T00:00:00Z'),
  generatorURL: z.string({ error: 'expected a string' }).default(''),
  fingerprint: z.string({ error: 'expected a string' }).default(''),
});

export const payloadSchema = z.object({
  version: z.literal('4', { error: 'expected "4" (Alertmanager webhook payload version 4)' }),
  groupKey: z.string({ error: 'expected a string' }).default(''),
  truncatedAlerts: z
    .number({ error: 'expected a number' })
    .int({ error: 'expected a whole number' })
    .nonnegative({ error: 'expected a whole number' })
    .default(0),
  status,
  receiver: z.string({ error: 'expected a string' }).default(''),
  groupLabels: labels('groupLabels').default({}),
  commonLabels: labels('commonLabels').default({}),
  commonAnnotations: labels('commonAnnotations').default({}),
  externalURL: z.string({ error: 'expected a string' }).default(''),
  alerts: z.array(alertSchema, { error: 'expected a list of alerts' }),
});

export type Alert = z.output<typeof alertSchema>;
export type WebhookPayload = z.output<typeof payloadSchema>;

export type ParseResult = { ok: true; payload: WebhookPayload } | { ok: false; reason: string };

/** Parses a request body. The reason names the field, e.g. `alerts[0].status: expected "firing" or "resolved"`. */
export function parsePayload(body: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'expected a JSON object (an Alertmanager webhook payload)' };
  }
  // Decoded UTF-8 never holds a lone surrogate; only a \uD800-\uDFFF escape can make one.
  const result = payloadSchema.safeParse(/\\u[dD][89a-fA-F]/.test(body) ? wellFormed(value) : value);
  if (result.success) return { ok: true, payload: result.data };
  const issues = result.error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.reduce<string>(
      (acc, part) =>
        typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part),
      '',
    );
    let message = issue.message;
    if (
      issue.code === 'invalid_type' &&
      (value as Record<string, unknown>)[String(issue.path[0])] === undefined
    )
      message = issue.path.length === 1 ? `missing required field: ${message}` : message;
    return path ? `${path}: ${message}` : message;
  });
  const more = result.error.issues.length > 5 ? ` (and ${result.error.issues.length - 5} more)` : '';
  return { ok: false, reason: issues.join('; ') + more };
}

/**
 * Replaces lone UTF-16 surrogates (JSON allows `"\\ud800"`, Go's encoder never writes one) with
 * U+FFFD in every string, keys included: a lone surrogate makes encodeURIComponent throw
 * "URI malformed" and cannot be sent as UTF-8, so it would fail every render of the message.
 */
export function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  // In place and without recursion: JSON.parse made these objects, and nesting may be deep.
  const stack: object[] = typeof value === 'object' && value !== null ? [value] : [];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    for (const key of Object.keys(node)) {
      const v = node[key];
      const fixed = typeof v === 'string' ? toWellFormed(v) : v;
      if (typeof fixed === 'object' && fixed !== null) stack.push(fixed);
      const fixedKey = toWellFormed(key);
      if (fixedKey !== key) {
        delete node[key];
        // defineProperty: a "__proto__" key stays an own property (and is rejected by the schema).
        Object.defineProperty(node, fixedKey, {
          value: fixed,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (fixed !== v) node[key] = fixed;
    }
  }
  return value;
}

/** String.prototype.toWellFormed (Node 20; not in the ES2022 typings). */
export function toWellFormed(text: string): string {
  return (text as unknown as { toWellFormed(): string }).toWellFormed();
}

/** Alertmanager's "still firing" marker for endsAt. */
export function isZeroTime(iso: string): boolean {
  return Date.parse(iso) <= 0 || iso.startsWith('0001-');
}
