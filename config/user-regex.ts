import { createRequire } from 'node:module';
import type { RE2JS as RE2JSClass } from 're2js';

/**
 * Regular expressions written by users (log formats, body_regex, FFmpeg groups, excluded
 * mount points) run on input that others control: a log line, a response body, a command
 * line. JavaScript's RegExp backtracks, so a pattern with nested quantifiers such as
 * `^(\w+\s?)*: failed` takes time exponential in the length of a line that almost
 * matches, on the event loop, outside every timeout. These patterns are compiled with
 * RE2JS instead (a port of RE2, https://github.com/google/re2/wiki/Syntax), whose
 * matching time is linear in the input. RE2 has no lookaround and no backreferences; a
 * pattern using them is a config error. Named groups are written `(?<name>...)` (or
 * RE2's `(?P<name>...)`).
 */

/** What matching needs of a pattern; RegExp and UserRegex both have it. */
export interface TextPattern {
  test(text: string): boolean;
}

export interface UserRegex extends TextPattern {
  /** The pattern as written. */
  readonly source: string;
  /** The named groups of the first match, or null when the text does not match. */
  exec(text: string): { groups: Record<string, string | undefined> } | null;
  /** The names of the pattern's named groups. */
  readonly groupNames: readonly string[];
}

/**
 * The engine, loaded with the first pattern: a config with none (the default, and every
 * sshd, nginx or json log source) does not pay its 3 MiB and 25 ms of start-up.
 */
let engine: typeof RE2JSClass | undefined;
function re2(): typeof RE2JSClass {
  return (engine ??= (createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JSClass }).RE2JS);
}

/**
 * Compiles a user's pattern; throws an Error saying what is wrong with it.
 *
 * `builtin`: the setting's built-in default. When the pattern is that default (written into
 * watchpost, with no nested quantifier and the same meaning in both engines, which
 * user-regex.test.ts checks), it is compiled with RegExp, so that a config that changes
 * none of them does not load the linear-time engine at all.
 */
export function compileUserRegex(pattern: string, builtin?: string): UserRegex {
  if (pattern === builtin) return nativeRegex(pattern);
  let compiled: ReturnType<typeof RE2JSClass.compile>;
  try {
    compiled = re2().compile(pattern);
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp: /, '');
    const hint = /Perl syntax|escape sequence: `\\\d/.test(why)
      ? ' (patterns use RE2 syntax, which runs in linear time: no lookaround, no backreferences)'
      : '';
    throw new Error(`${why}${hint}`);
  }
  const groupNames = Object.keys(compiled.namedGroups());
  return {
    source: pattern,
    groupNames,
    test: (text) => compiled.test(text),
    exec(text) {
      // The DFA answers "no match" far faster than a search that tracks groups, and most
      // lines do not match: only a line that matches pays for the groups.
      if (!compiled.test(text)) return null;
      const m = compiled.exec(text);
      if (m === null) return null;
      return { groups: (m as unknown as { groups?: Record<string, string | undefined> }).groups ?? {} };
    },
    toString: () => `/${pattern}/`,
  } as UserRegex;
}

/** A built-in pattern as a UserRegex, compiled with RegExp (see compileUserRegex). */
function nativeRegex(pattern: string): UserRegex {
  const re = new RegExp(pattern);
  const groupNames = [...pattern.matchAll(/\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!);
  return {
    source: pattern,
    groupNames,
    test: (text) => re.test(text),
    exec(text) {
      const m = re.exec(text);
      return m === null ? null : { groups: { ...m.groups } };
    },
    toString: () => `/${pattern}/`,
  } as UserRegex;
}
