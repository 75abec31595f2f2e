import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigProblem, type Env } from '../config/load.js';
import { notifierSchema, type NotifierConfig } from '../config/notifier-schema.js';
import { fileErrorReason } from '../config/fs-errors.js';

/**
 * Reads the `notifier:` section of watchpost.yml on its own, until config/schema.ts wires
 * notifierSchema in (then this goes, and config.notifier comes from loadConfigFile).
 * Errors name file, line and key path like config/load.ts. `${ENV}` interpolation is
 * config/load.ts's job and is not repeated here.
 */
export function loadNotifierConfig(file: string | undefined, _env: Env = process.env): NotifierConfig {
  if (file === undefined) return defaultNotifierConfig();
  const full = resolve(file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, path: '', message: `config file ${fileErrorReason(err)}` }]);
  }
  return parseNotifierText(text, file, dirname(full));
}

export function defaultNotifierConfig(): NotifierConfig {
  return notifierSchema({ baseDir: process.cwd() }).parse(undefined);
}

export function parseNotifierText(text: string, file: string, baseDir: string): NotifierConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: '',
          message: `invalid YAML: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  const root: unknown = doc.toJS() ?? {};
  const section = root && typeof root === 'object' ? (root as Record<string, unknown>).notifier : undefined;
  const result = notifierSchema({ baseDir }).safeParse(section);
  if (result.success) return result.data;
  const problems: ConfigProblem[] = result.error.issues.map((issue) => {
    const path = ['notifier', ...issue.path.map(String)];
    let node: unknown;
    for (let n = path.length; n > 0 && !node; n--) node = doc.getIn(path.slice(0, n), true);
    const offset = (node as { range?: [number] } | undefined)?.range?.[0];
    const pos = offset !== undefined ? lineCounter.linePos(offset) : undefined;
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : issue.message;
    return { file, ...(pos ? { line: pos.line, column: pos.col } : {}), path: path.join('.'), message };
  });
  throw new ConfigError(problems);
}
