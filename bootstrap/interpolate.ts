import type { Pos } from './compose.js';

/**
 * Compose's variable interpolation, applied to each value after the YAML is parsed (so a
 * variable can never inject YAML structure, and an error keeps its line):
 *   $$            a literal "$"
 *   $NAME ${NAME} the variable; unset gives "" (compose warns)
 *   ${NAME:-def}  def when NAME is unset or empty       ${NAME-def}  def when unset
 *   ${NAME:?err}  an error when unset or empty          ${NAME?err}  an error when unset
 *   ${NAME:+rep}  rep when set and not empty, else ""   ${NAME+rep}  rep when set, else ""
 * Defaults and replacements may themselves hold references (`${A:-${B}}`), as in Compose v2.
 */

export type Lookup = (name: string) => { value: string; via?: Pos } | undefined;

export interface Interpolated {
  value: string;
  /** Messages for ${NAME:?err} failures and malformed references. */
  errors: string[];
  /** Variables referenced without a default that are not set. */
  unset: string[];
  /** The `.env` line of the first variable that came from `.env`. */
  via?: Pos;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolateString(text: string, lookup: Lookup): Interpolated {
  const res: Interpolated = { value: '', errors: [], unset: [] };
  if (!text.includes('$')) {
    res.value = text;
    return res;
  }
  res.value = expand(text, lookup, res, 0);
  return res;
}

function expand(text: string, lookup: Lookup, res: Interpolated, depth: number): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = matchingBrace(text, i + 2);
      if (end === -1) {
        res.errors.push(
          `invalid interpolation: "${text.slice(i)}" has no closing "}" (write "$$" for a literal "$")`,
        );
        return out + text.slice(i);
      }
      out += reference(text.slice(i + 2, end), lookup, res, depth);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (m) {
      out += variable(m[0], lookup, res) ?? '';
      i += 1 + m[0].length;
      continue;
    }
    // A lone "$" (e.g. at the end) is kept, as compose keeps it.
    out += '$';
    i++;
  }
  return out;
}

function matchingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function variable(name: string, lookup: Lookup, res: Interpolated, withDefault = false): string | undefined {
  const found = lookup(name);
  if (found === undefined) {
    if (!withDefault && !res.unset.includes(name)) res.unset.push(name);
    return undefined;
  }
  if (found.via && !res.via) res.via = found.via;
  return found.value;
}

function reference(inner: string, lookup: Lookup, res: Interpolated, depth: number): string {
  const m = NAME.exec(inner);
  if (!m) {
    res.errors.push(`invalid interpolation: "\${${inner}}" is not a variable name (letters, digits and _)`);
    return '';
  }
  const name = m[0];
  const rest = inner.slice(name.length);
  if (rest === '') return variable(name, lookup, res) ?? '';
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (!op) {
    res.errors.push(
      `invalid interpolation: "\${${inner}}" (expected \${${name}}, \${${name}:-default} or \${${name}:?error})`,
    );
    return '';
  }
  const arg = rest.slice(op.length);
  const found = lookup(name);
  const set = found !== undefined;
  const nonEmpty = set && found.value !== '';
  const sub = () => (depth > 16 ? arg : expand(arg, lookup, res, depth + 1));
  const use = () => {
    if (found?.via && !res.via) res.via = found.via;
    return found?.value ?? '';
  };
  switch (op) {
    case ':-':
      return nonEmpty ? use() : sub();
    case '-':
      return set ? use() : sub();
    case ':?':
    case '?':
      if (op === ':?' ? nonEmpty : set) return use();
      res.errors.push(`required variable ${name} is missing a value${arg ? `: ${sub()}` : ''}`);
      return '';
    case ':+':
      return nonEmpty ? sub() : '';
    default:
      return set ? sub() : '';
  }
}
