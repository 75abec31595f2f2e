/**
 * Alertmanager-style label matchers (`team="db"`, `env!="staging"`, `service=~"api|web"`,
 * `instance!~"test-.*"`), as `notifier.channels[].matchers` uses them. Parsed like
 * Alertmanager's classic matcher parser (pkg/labels/parse.go): a label name, an operator,
 * and a value that is either double-quoted (with `\"`, `\\` and `\n` escapes) or bare.
 * A regex is anchored at both ends, as Alertmanager anchors it (`^(?:regex)$`), so
 * `service=~"api"` does not match `api-gateway`. A label an alert does not have matches as
 * the empty string, again as in Alertmanager: `team=""` matches alerts without a team.
 */

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** The anchored regex for =~ and !~. */
  regex?: RegExp;
}

export type MatcherParse = { ok: true; matcher: Matcher } | { ok: false; error: string };

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

function unquote(text: string): string | undefined {
  if (!text.startsWith('"')) {
    // A bare value, as Alertmanager accepts it; a stray quote in one is a typo.
    return text.includes('"') ? undefined : text;
  }
  if (text.length < 2 || !text.endsWith('"')) return undefined;
  let out = '';
  const body = text.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = body[++i];
    if (next === '"' || next === '\\') out += next;
    else if (next === 'n') out += '\n';
    else return undefined;
  }
  return out;
}

/** Parses one matcher string; the error says what is wrong with it. */
export function parseMatcher(text: string): MatcherParse {
  const m = MATCHER.exec(text);
  if (!m)
    return {
      ok: false,
      error: `expected a matcher such as team="db", env!="staging", service=~"api|web" or instance!~"test-.*", got ${JSON.stringify(text)}`,
    };
  const [, name, op, rawValue] = m as unknown as [string, string, MatchOp, string];
  const value = unquote(rawValue);
  if (value === undefined)
    return {
      ok: false,
      error: `invalid value in matcher ${JSON.stringify(text)}: expected a double-quoted string (escape " and \\ with a backslash)`,
    };
  const matcher: Matcher = { name, op, value };
  if (op === '=~' || op === '!~') {
    try {
      matcher.regex = new RegExp(`^(?:${value})$`);
    } catch (err) {
      return {
        ok: false,
        error: `invalid regular expression in matcher ${JSON.stringify(text)}: ${(err as Error).message}`,
      };
    }
  }
  return { ok: true, matcher };
}

/** Whether one matcher accepts a label set (a missing label is the empty string). */
export function matches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = Object.hasOwn(labels, m.name) ? labels[m.name]! : '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.regex!.test(v);
    case '!~':
      return !m.regex!.test(v);
  }
}

/** Whether every matcher accepts the label set (true for none). */
export function matchesAll(
  ms: readonly Matcher[] | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  return (ms ?? []).every((m) => matches(m, labels));
}

/** The matcher as Alertmanager prints it: `team="db"`. */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
