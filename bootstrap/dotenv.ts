import type { Pos } from './compose.js';

/**
 * The `.env` and `env_file` format compose reads: `KEY=VALUE` lines, an optional `export `
 * prefix, `#` comment lines, single quotes taken literally, double quotes with `\n`, `\"`
 * and `\\` escapes, and in an unquoted value a ` #` starting a comment. A line with a
 * name only (`KEY`) takes the value from the shell at run time and is kept without one.
 * Variables inside values are not expanded here.
 */

export interface DotEnvEntry {
  key: string;
  value: string;
  pos: Pos;
}

export interface DotEnv {
  /** Absolute path. */
  path: string;
  /** As shown to the user. */
  file: string;
  entries: DotEnvEntry[];
  /** Lines that are not KEY=VALUE, with their line number. */
  invalid: { line: number; text: string }[];
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=(.*))?$/;

export function parseDotEnv(text: string, path: string, file: string): DotEnv {
  const out: DotEnv = { path, file, entries: [], invalid: [] };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const m = LINE.exec(raw);
    if (!m) {
      out.invalid.push({ line: i + 1, text: raw.slice(0, 80) });
      continue;
    }
    if (m[2] === undefined) continue; // KEY alone: from the shell at run time
    const column = raw.indexOf(m[1]!) + 1;
    let value = m[3]!.trim();
    let lineNo = i + 1;
    const q = value[0];
    if (q === "'" || q === '"') {
      // A quoted value may continue over several lines.
      let body = value.slice(1);
      let close = findClose(body, q);
      while (close === -1 && i + 1 < lines.length) {
        body += `\n${lines[++i]!}`;
        close = findClose(body, q);
      }
      const inner = close === -1 ? body : body.slice(0, close);
      value = q === '"' ? inner.replace(/\\([n"\\])/g, (_, c: string) => (c === 'n' ? '\n' : c)) : inner;
    } else {
      const hash = value.search(/\s#/);
      if (hash !== -1) value = value.slice(0, hash).trimEnd();
    }
    out.entries.push({ key: m[1]!, value, pos: { file, line: lineNo, column } });
    lineNo = i + 1;
  }
  return out;
}

function findClose(body: string, q: string): number {
  for (let j = 0; j < body.length; j++) {
    if (body[j] === '\\' && q === '"') j++;
    else if (body[j] === q) return j;
  }
  return -1;
}
