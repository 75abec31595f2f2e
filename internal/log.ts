import { redact } from './secret.js';

/**
 * One-line logfmt logs on stderr (`ts=… level=info msg="…" key=value`), the format
 * Prometheus and Alertmanager print, so ops can grep both the same way. Every line is
 * redacted against the known secret values before it is written.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  write?: (line: string) => void;
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const base = opts.base ?? {};
  const emit = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[level] < min) return;
    const parts = [`ts=${new Date().toISOString()}`, `level=${level}`];
    for (const [k, v] of Object.entries({ ...base, msg, ...fields })) {
      if (v === undefined) continue;
      parts.push(`${k}=${quote(v)}`);
    }
    write(redact(parts.join(' ')) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

function quote(v: unknown): string {
  const s = v instanceof Error ? v.message : typeof v === 'string' ? v : String(v);
  return /^[A-Za-z0-9_.:/@+-]+$/.test(s) ? s : JSON.stringify(s);
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ write: () => {} });
