import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import { Secret } from './secret.js';

/**
 * The one config schema. Every object is strict (an unknown key is an error, so a typo
 * never silently turns a setting off) and every field has a default, so an empty file
 * — or no file at all — is a working config that monitors this host.
 *
 * The schema is built by a function because `*_file` secrets are read while the file is
 * validated, relative to the config file's folder.
 */

export interface SchemaContext {
  /** Relative secret-file paths are resolved against this folder. */
  baseDir: string;
}

const duration = (what: string) =>
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

const ratio = z
  .number({ error: 'expected a ratio between 0 and 1, such as 0.85' })
  .gt(0, { error: 'expected a ratio above 0' })
  .lte(1, { error: 'expected a ratio of at most 1 (0.85 means 85%)' });

const regex = (what: string) =>
  z.string({ error: `expected ${what} as a regular expression` }).superRefine((text, ctx) => {
    try {
      new RegExp(text);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid regular expression for ${what}: ${(err as Error).message}`,
      });
    }
  });

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/;
const listenAddress = z
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

function secretFile(ctx: SchemaContext) {
  return z.string({ error: 'expected the path of a file holding the secret' }).transform((path, zctx) => {
    const full = isAbsolute(path) ? path : resolve(ctx.baseDir, path);
    try {
      const value = readFileSync(full, 'utf8').replace(/\r?\n$/, '');
      if (value.length === 0) {
        zctx.addIssue({ code: 'custom', message: `secret file "${full}" is empty` });
        return z.NEVER;
      }
      return new Secret(value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const why =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'EACCES'
            ? 'is not readable'
            : `cannot be read (${code})`;
      zctx.addIssue({ code: 'custom', message: `secret file "${full}" ${why}` });
      return z.NEVER;
    }
  });
}

/** Settings every collector has. `timeout` may not exceed `interval`. */
function collectorBase(defaults: { interval: string; timeout: string; enabled?: boolean }) {
  return {
    enabled: z.boolean({ error: 'expected true or false' }).default(defaults.enabled ?? true),
    interval: duration('the collection interval').prefault(defaults.interval),
    timeout: duration('the collection timeout').prefault(defaults.timeout),
  };
}

function checkTimeout(c: { interval: number; timeout: number }, ctx: z.RefinementCtx): void {
  if (c.timeout > c.interval) {
    ctx.addIssue({
      code: 'custom',
      path: ['timeout'],
      message:
        'expected the timeout to be at most the interval (a run that outlasts its interval would overlap the next)',
    });
  }
}

/** Filesystem types that hold no user data or are container internals. */
export const DEFAULT_EXCLUDED_FSTYPES = [
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs',
  'efivarfs', 'fuse.lxcfs', 'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'overlay', 'proc', 'procfs',
  'pstore', 'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
]; // prettier-ignore

/** Kernel/runtime mount points and the files Docker bind-mounts into every container. */
export const DEFAULT_EXCLUDED_MOUNTPOINTS =
  '^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+|var/lib/kubelet/.+|snap/.+)($|/)|^/etc/(hostname|hosts|resolv\\.conf)$';

export function buildSchema(ctx: SchemaContext) {
  const exporter = z
    .strictObject({
      listen: listenAddress.default('127.0.0.1:9850'),
      bearer_token_file: secretFile(ctx)
        .optional()
        .describe(
          'File holding a bearer token that GET /metrics then requires (Prometheus: authorization.credentials_file).',
        ),
      process_metrics_interval: duration('the refresh interval of the process metrics').prefault('5s'),
      log_level: z.enum(['debug', 'info', 'warn', 'error']).prefault('info'),
    })
    .prefault({});

  const host = z
    .strictObject({ ...collectorBase({ interval: '15s', timeout: '5s' }) })
    .superRefine(checkTimeout)
    .prefault({});

  const disk = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '10s' }),
      alert_threshold_ratio: ratio
        .default(0.85)
        .describe(
          'Used ratio above which the DiskSpaceLow alert fires; exported as watchpost_filesystem_alert_threshold_ratio.',
        ),
      thresholds: z
        .record(z.string().startsWith('/', { error: 'expected an absolute mount point as key' }), ratio)
        .default({})
        .describe(
          'Per-mount-point thresholds that override alert_threshold_ratio, e.g. {"/srv/recordings": 0.95}.',
        ),
      exclude_fstypes: z.array(z.string()).default(DEFAULT_EXCLUDED_FSTYPES),
      exclude_mountpoints: regex('the excluded mount points').default(DEFAULT_EXCLUDED_MOUNTPOINTS),
      directories: z
        .array(
          z.strictObject({
            path: z.string().startsWith('/', { error: 'expected an absolute path' }),
            interval: duration('the directory scan interval').prefault('5m'),
          }),
        )
        .default([])
        .describe('Folders whose total size is measured on their own slow interval (a recordings folder).'),
    })
    .superRefine(checkTimeout)
    .prefault({});

  return z
    .strictObject({
      $schema: z.string().optional(),
      exporter,
      paths: z
        .strictObject({
          procfs: z.string().startsWith('/', { error: 'expected an absolute path' }).default('/proc'),
          rootfs: z
            .string()
            .startsWith('/', { error: 'expected an absolute path' })
            .default('/')
            .describe(
              "Where the host's / is mounted when the exporter runs in a container (node_exporter's --path.rootfs).",
            ),
        })
        .prefault({}),
      collectors: z.strictObject({ host, disk }).prefault({}),
    })
    .describe('watchpost configuration (watchpost.yml)');
}

export type ConfigSchema = ReturnType<typeof buildSchema>;
export type Config = z.output<ConfigSchema>;
export type ConfigInput = z.input<ConfigSchema>;
export type CollectorName = keyof Config['collectors'];
export type CollectorSettings = { enabled: boolean; interval: number; timeout: number };
