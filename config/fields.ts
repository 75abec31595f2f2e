import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../internal/duration.js';
import { fileErrorReason } from '../internal/fs-errors.js';
import { FileRefused, readSecretFile, Secret, UnreadSecret } from '../internal/secret.js';
import { compileUserRegex } from './user-regex.js';
import { parseSize } from './size.js';

/**
 * The field types every section of watchpost.yml is built from (durations, ratios,
 * listen addresses, secret files, sizes, names, URLs), each with the message a user sees
 * when a value is wrong. config/schema.ts and config/notifier-schema.ts both build on
 * these, so one kind of value is checked and worded the same everywhere.
 */
export interface SchemaContext {
  /** Relative secret-file paths are resolved against this folder. */
  baseDir: string;
  /**
   * Leave this section's secret files unread (an UnreadSecret each): the exporter's container
   * has no notifier secrets mounted, and the notifier's none of the exporter's.
   */
  skipSecrets?: boolean;
  /** Told what is allowed but unsafe (a secret file readable by others). */
  warn?: (message: string) => void;
  /** A group that is given secret files on purpose (the overlay's secrets group): see readSecretFile. */
  secretsGroup?: number;
  /**
   * Where a secret file's path really is when the config is read outside the container it
   * was written for (`watchpost check` on the host maps /run/secrets/NAME to the compose
   * secret's file); identity when unset.
   */
  secretPath?: (path: string) => string;
}

export const duration = (what: string) =>
  z
    .string({ error: `expected ${what} as a duration such as "15s", "1m" or "1h30m"` })
    .regex(new RegExp(DURATION_PATTERN), {
      error: (iss) =>
        `expected ${what} as a duration such as "15s", "1m" or "1h30m", got ${JSON.stringify(iss.input)}`,
    })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${what} to be longer than zero, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

export const ratio = z
  .number({ error: 'expected a ratio between 0 and 1, such as 0.85' })
  .gt(0, { error: 'expected a ratio above 0' })
  .lte(1, { error: 'expected a ratio of at most 1 (0.85 means 85%)' });

/**
 * A user's regular expression, checked in the RE2 syntax it runs in (config/user-regex.ts).
 * `groups`, when set, are the only named groups allowed, and `required` those of them
 * that must be there: a misspelt `(?<clinet>...)` is an error, not a silent miss.
 */
export const regex = (what: string, groups?: { allowed: readonly string[]; required?: readonly string[] }) =>
  z.string({ error: `expected ${what} as a regular expression` }).superRefine((text, ctx) => {
    let names: readonly string[];
    try {
      names = compileUserRegex(text).groupNames;
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid regular expression for ${what}: ${(err as Error).message}`,
      });
      return;
    }
    if (!groups) return;
    const list = groups.allowed.map((g) => `(?<${g}>...)`).join(', ');
    for (const name of names) {
      if (!groups.allowed.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown named group "${name}" in ${what}: the groups read are ${list}`,
        });
      }
    }
    for (const name of groups.required ?? []) {
      if (!names.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a named group (?<${name}>...) in ${what}, e.g. "login failed from (?<${name}>\\S+)"`,
        });
      }
    }
  });

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/;
export const listenAddress = z
  .string({ error: 'expected a listen address "host:port", such as "127.0.0.1:9850"' })
  .superRefine((text, ctx) => {
    const m = LISTEN.exec(text);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a listen address "host:port" with a port up to 65535, such as "127.0.0.1:9850", got "${text}"`,
      });
    }
  });

/** Splits a validated listen address. An empty host means every interface. */
export function parseListen(text: string): { host: string; port: number } {
  const m = LISTEN.exec(text);
  if (!m) throw new Error(`invalid listen address "${text}"`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(m[2]) };
}

export function secretFile(ctx: SchemaContext) {
  return z.string({ error: 'expected the path of a file holding the secret' }).transform((path, zctx) => {
    const given = isAbsolute(path) ? path : resolve(ctx.baseDir, path);
    const full = ctx.secretPath ? ctx.secretPath(given) : given;
    if (ctx.skipSecrets) return new UnreadSecret(full);
    try {
      const { value, warning } = readSecretFile(full, { sharedGroup: ctx.secretsGroup });
      if (value.length === 0) {
        zctx.addIssue({ code: 'custom', message: `secret file "${full}" is empty` });
        return z.NEVER;
      }
      if (warning) ctx.warn?.(warning);
      return new Secret(value);
    } catch (err) {
      const why = err instanceof FileRefused ? err.message : fileErrorReason(err);
      zctx.addIssue({ code: 'custom', message: `secret file "${full}" ${why}` });
      return z.NEVER;
    }
  });
}

export const name = (what: string) =>
  z.string({ error: `expected ${what}` }).regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, {
    error: `expected ${what}: letters, digits, "_", ".", ":" or "-"`,
  });

/** `user:password@` (or `user@`) in the authority part of a URL. */
const URL_USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i;

/**
 * An http(s) URL without credentials: a password in a URL is printed wherever the URL
 * is (logs, status pages, errors), so `user:pass@` is refused and the user is told where
 * credentials go instead.
 */
export const httpUrl = z
  .string({ error: 'expected an http:// or https:// URL' })
  .regex(/^https?:\/\/[^\s/]+/, { error: 'expected an http:// or https:// URL' })
  .refine((text) => !URL_USERINFO.test(text), {
    error:
      'expected a URL without credentials ("user:password@"): a URL is printed in logs and errors; give the user in "username" and the password in a file named by "password_file" (stream servers), or use "bearer_token_file" or "headers" (dependencies)',
  });

export const absolutePath = z
  .string({ error: 'expected an absolute path' })
  .startsWith('/', { error: 'expected an absolute path' });

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
export const hostPort = z
  .string({ error: 'expected an address "host:port", such as "db:5432"' })
  .superRefine((text, ctx) => {
    const m = HOST_PORT.exec(text);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({
        code: 'custom',
        message: `expected an address "host:port" with a port from 1 to 65535, such as "db:5432", got "${text}"`,
      });
    }
  });

/** Splits a validated "host:port" (brackets removed from an IPv6 host). */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = HOST_PORT.exec(text);
  if (!m) throw new Error(`invalid address "${text}"`);
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export const SIZE_HINT = 'a whole number of bytes or a size such as "500KB" or "10MiB"';
export const byteSize = z
  .union([z.number(), z.string()], { error: `expected ${SIZE_HINT}` })
  .transform((value, ctx) => {
    const bytes =
      typeof value === 'number'
        ? Number.isInteger(value) && value >= 0
          ? value
          : undefined
        : parseSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${SIZE_HINT}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return bytes;
  });

/** Settings every collector has. `timeout` may not exceed `interval`. */
export function collectorBase(defaults: { interval: string; timeout: string; enabled?: boolean }) {
  return {
    enabled: z.boolean({ error: 'expected true or false' }).default(defaults.enabled ?? true),
    interval: duration('the collection interval').prefault(defaults.interval),
    timeout: duration('the collection timeout').prefault(defaults.timeout),
  };
}

export function checkTimeout(c: { interval: number; timeout: number }, ctx: z.RefinementCtx): void {
  if (c.timeout > c.interval) {
    ctx.addIssue({
      code: 'custom',
      path: ['timeout'],
      message:
        'expected the timeout to be at most the interval (a run that outlasts its interval would overlap the next)',
    });
  }
}

/**
 * A collector's `source`: `auto` (the default), the Linux fast path `linux` (/proc or /sys), or
 * `systeminformation` for other systems (the collector resolves `auto` with sourceOnThisSystem).
 */
export function sourceField<L extends string>(linux: L, description: string) {
  // zod cannot resolve its default's type while L is generic; 'auto' is one of the values.
  return z
    .enum(['auto', linux, 'systeminformation'])
    .default('auto' as never)
    .describe(description);
}
