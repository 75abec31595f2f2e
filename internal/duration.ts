/**
 * Durations in config are written as Prometheus writes them: "500ms", "15s", "1m", "1h30m".
 * One unit set, one parser, used by the schema and by the docs.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+)(ms|s|m|h|d)/g;
export const DURATION_PATTERN = '^((\\d+)(ms|s|m|h|d))+$';
const WHOLE = new RegExp(DURATION_PATTERN);

/** Milliseconds in `text`, or undefined when it is not a duration. Zero is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2] as string]!;
  return total > 0 ? total : undefined;
}

/** The shortest Prometheus-style spelling of `ms`, for messages and the status page. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
