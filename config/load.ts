import { dirname, resolve } from 'node:path';
import {
  Document,
  isMap,
  isPair,
  isScalar,
  LineCounter,
  parse as parseYamlValue,
  parseDocument,
  visit,
} from 'yaml';
import type { Node as YamlNode, Scalar } from 'yaml';
import type { z } from 'zod';
import { fileErrorReason } from '../internal/fs-errors.js';
import { FileRefused, readBoundedFile } from '../internal/secret.js';
import { buildSchema, type Config, type LoadContext } from './schema.js';

/**
 * Loads watchpost.yml. The YAML is parsed into a document that keeps every node's
 * position (the `yaml` package, rather than js-yaml, because js-yaml drops positions
 * once parsed and an error must name the line), `${ENV}` references are expanded in
 * values, and the result is validated by the strict schema. Every problem found is
 * reported at once, each naming file, line, column and key path.
 */

export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted key path, e.g. `collectors.disk.interval`; empty for the whole file. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

export type Env = Record<string, string | undefined>;

/**
 * The largest config file read. A real watchpost.yml is a few KiB; the YAML parser takes
 * seconds per 100 KiB of flow collections on a busy host, and a 50 MB file took minutes
 * and gigabytes, so anything larger is refused before it is parsed.
 */
export const MAX_CONFIG_FILE_BYTES = 256 * 1024;

/** How many alias dereferences a config may make (YAML "billion laughs" guard). */
export const MAX_ALIAS_COUNT = 100;

export interface LoadOptions {
  /** Read only this service's secret files (see LoadContext). */
  secretsOf?: LoadContext['secretsOf'];
  /** Told what is allowed but unsafe (a secret file readable by others); ignored when unset. */
  warn?: (message: string) => void;
  /** Where secret files really are, when read outside their container (see LoadContext). */
  secretPath?: LoadContext['secretPath'];
  /** A group given secret files on purpose (see LoadContext). */
  secretsGroup?: LoadContext['secretsGroup'];
}

/**
 * Reads and validates a config file. Throws ConfigError naming every problem. The file
 * must be a regular file of at most MAX_CONFIG_FILE_BYTES (a FIFO, a device such as
 * /dev/zero or a directory is refused at once, not read).
 */
export function loadConfigFile(file: string, env: Env = process.env, opts: LoadOptions = {}): Config {
  const full = resolve(file);
  let text: string;
  try {
    text = readBoundedFile(full, MAX_CONFIG_FILE_BYTES).text;
  } catch (err) {
    const why = err instanceof FileRefused ? err.message : fileErrorReason(err);
    throw new ConfigError([{ file, path: '', message: `config file ${why}` }]);
  }
  return parseConfigText(text, file, env, dirname(full), opts);
}

/**
 * Where a key path sits in a config file (its key's line and column), for problems found
 * after loading, such as settings that cannot work on this host. Empty when unknown.
 */
export function keyPosition(file: string, path: readonly string[]): { line?: number; column?: number } {
  let text: string;
  try {
    text = readBoundedFile(resolve(file), MAX_CONFIG_FILE_BYTES).text;
  } catch {
    return {};
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const offset = path.length === 0 ? undefined : keyOffset(doc, path.slice(0, -1), path.at(-1)!);
  if (offset === undefined) return {};
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** The built-in config: every default, which monitors this host. */
export function defaultConfig(): Config {
  return parseConfigText('', '<built-in default>', {}, process.cwd());
}

export function parseConfigText(
  text: string,
  file: string,
  env: Env = process.env,
  baseDir = process.cwd(),
  opts: LoadOptions = {},
): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  const syntax = [...doc.errors];
  if (syntax.length > 0) {
    throw new ConfigError(
      syntax.map((e) => ({
        file,
        ...at(e.pos[0]),
        path: '',
        message: `invalid YAML: ${firstLine(e.message)}`,
      })),
    );
  }

  const problems: ConfigProblem[] = [];
  interpolate(doc, env, (node, path, message) =>
    problems.push({ file, ...at(node.range?.[0]), path, message }),
  );
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    // The yaml package refuses an alias that expands into too many nodes ("billion laughs").
    throw new ConfigError([
      {
        file,
        ...at(firstAliasOffset(doc)),
        path: '',
        message: `invalid YAML: ${
          err instanceof ReferenceError && /alias/i.test(err.message)
            ? `aliases (*name) expand into too many values (more than ${MAX_ALIAS_COUNT} per alias); write the values out instead`
            : firstLine((err as Error).message)
        }`,
      },
    ]);
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([
      {
        file,
        ...at(doc.contents?.range?.[0]),
        path: '',
        message: 'expected a mapping of settings at the top level',
      },
    ]);
  }

  const result = buildSchema({ baseDir, ...opts }).safeParse(value);
  if (result.success && problems.length === 0) return result.data;
  // A key whose interpolation failed still holds "${...}": its schema error would only repeat it.
  const reported = new Set(problems.map((p) => p.path));
  const schemaProblems = result.success
    ? []
    : result.error.issues.flatMap((issue) => issueProblems(issue, doc, file, at));
  throw new ConfigError(
    [...problems, ...schemaProblems.filter((p) => !reported.has(p.path))].sort(byPosition),
  );
}

/** Where the first alias of the document is, for an error about aliases. */
function firstAliasOffset(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

type At = (offset: number | undefined) => { line?: number; column?: number };

function issueProblems(issue: z.core.$ZodIssue, doc: Document, file: string, at: At): ConfigProblem[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      file,
      ...at(keyOffset(doc, path, key)),
      path: [...path, key].join('.'),
      message: `unknown key "${key}"${suggest(
        key,
        schemaKeysAt(path).filter((k) => !issue.keys.includes(k)),
      )}`,
    }));
  }
  let message = issue.message;
  if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
    message = `expected ${issue.expected}`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const { node, found } = nearestNode(doc, path);
  if (!found && issue.code === 'invalid_type') message = `missing required key: ${message}`;
  return [{ file, ...at(node?.range?.[0]), path: path.join('.'), message }];
}

/** The node at `path`, or the nearest ancestor that exists (for a missing key). */
function nearestNode(doc: Document, path: string[]): { node: YamlNode | undefined; found: boolean } {
  for (let n = path.length; n >= 0; n--) {
    const node =
      n === 0 ? (doc.contents ?? undefined) : (doc.getIn(path.slice(0, n), true) as YamlNode | undefined);
    if (node && typeof node === 'object' && 'range' in node) return { node, found: n === path.length };
  }
  return { node: undefined, found: false };
}

function keyOffset(doc: Document, path: string[], key: string): number | undefined {
  const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key.range?.[0];
    }
    return parent.range?.[0];
  }
  return undefined;
}

/** The keys the schema allows at `path`, for "did you mean" suggestions. */
function schemaKeysAt(path: string[]): string[] {
  let schema: unknown = buildSchema({ baseDir: '.' });
  for (const part of path) {
    const shape = objectShape(schema);
    if (!shape || !(part in shape)) return [];
    schema = shape[part];
  }
  return Object.keys(objectShape(schema) ?? {});
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  // Unwrap defaults, pipes and effects down to the object, if any.
  let s = schema as { def?: Record<string, unknown>; shape?: Record<string, unknown> } | undefined;
  for (let i = 0; i < 8 && s; i++) {
    if (s.shape && typeof s.shape === 'object') return s.shape;
    const def = s.def;
    s = (def?.innerType ?? def?.in) as typeof s;
  }
  return undefined;
}

function suggest(key: string, candidates: string[]): string {
  // A key cut short or run on ("alert_threshold" for "alert_threshold_ratio") is the commonest typo.
  const affix = candidates.find(
    (c) => Math.min(c.length, key.length) >= 4 && (c.startsWith(key) || key.startsWith(c)),
  );
  if (affix !== undefined) return ` (did you mean "${affix}"?)`;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(key, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)))
    return ` (did you mean "${best}"?)`;
  return candidates.length > 0 ? ` (expected one of: ${candidates.join(', ')})` : '';
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

const REFERENCE = /\$\$|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${NAME}` and `${NAME:-default}` in scalar values (never in keys); `$$` is a
 * literal `$`. Done on the parsed nodes, not on the raw text, so an environment value
 * can never inject YAML structure, and an error keeps the node's line. An unquoted
 * scalar is re-typed after expansion, so `port: ${PORT}` still gives a number.
 */
function interpolate(
  doc: Document,
  env: Env,
  report: (node: YamlNode, path: string, message: string) => void,
): void {
  visit(doc, {
    Scalar(key, node: Scalar, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const path = [pathOf(ancestors), typeof key === 'number' ? String(key) : ''].filter(Boolean).join('.');
      let failed = false;
      const expanded = node.value.replace(REFERENCE, (whole, inner: string | undefined) => {
        if (whole === '$$') return '$';
        if (inner === undefined) {
          failed = true;
          report(node, path, 'bad interpolation: "${" is not closed by "}" (write "$$" for a literal "$")');
          return whole;
        }
        const sep = inner.indexOf(':-');
        const name = sep === -1 ? inner : inner.slice(0, sep);
        if (!NAME.test(name)) {
          failed = true;
          report(
            node,
            path,
            `bad interpolation: "\${${inner}}" is not a variable name (letters, digits and _)`,
          );
          return whole;
        }
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (sep !== -1) return inner.slice(sep + 2);
        failed = true;
        report(
          node,
          path,
          `environment variable ${name} is not set (use \${${name}:-default} for a default)`,
        );
        return whole;
      });
      if (failed) return;
      node.value = node.type === 'PLAIN' ? retype(expanded) : expanded;
    },
  });
}

function retype(text: string): unknown {
  try {
    const v: unknown = parseYamlValue(text);
    if (typeof v === 'number' || typeof v === 'boolean') return v;
  } catch {
    // not a scalar on its own: keep the string
  }
  return text;
}

function pathOf(ancestors: readonly unknown[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const a = ancestors[i];
    if (isPair(a) && isScalar(a.key)) parts.push(String(a.key.value));
    else if (a && typeof a === 'object' && 'items' in a && Array.isArray((a as { items: unknown[] }).items)) {
      const next = ancestors[i + 1];
      const idx = (a as { items: unknown[] }).items.indexOf(next);
      if (idx >= 0 && !isPair(next)) parts.push(String(idx));
    }
  }
  return parts.join('.');
}
