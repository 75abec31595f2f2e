import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { duration, listenAddress, secretFile, type SchemaContext } from './fields.js';
import { loadTls } from '../exporter/tls.js';
import { notifierSchema } from './notifier-schema.js';
import { collectorsSchema } from '../exporter/collectors/registry.js';

export { parseHostPort, parseListen, type SchemaContext } from './fields.js';

/**
 * The one config schema. Every object is strict (an unknown key is an error, so a typo
 * never silently turns a setting off) and every field has a default, so an empty file
 * — or no file at all — is a working config that monitors this host.
 *
 * The schema is built by a function because `*_file` secrets are read while the file is
 * validated, relative to the config file's folder. Each collector's section comes from
 * its own folder (exporter/collectors/<name>/config.ts), through the registry.
 */

/** What the loader is told: where relative paths start, and whose secrets to read. */
export interface LoadContext {
  baseDir: string;
  /**
   * Read only the secret files of this service: `exporter` (exporter and collectors) or
   * `notifier`. Each container mounts only its own secrets; unset reads them all.
   */
  secretsOf?: 'exporter' | 'notifier' | 'none';
  /** Told what is allowed but unsafe (a secret file readable by others). */
  warn?: (message: string) => void;
  /** Maps a secret file's path to where it is on this machine (see SchemaContext). */
  secretPath?: (path: string) => string;
  /** A group given secret files on purpose (the overlay's secrets group): see SchemaContext. */
  secretsGroup?: number;
}

export function buildSchema(load: LoadContext) {
  const warn = {
    ...(load.warn ? { warn: load.warn } : {}),
    ...(load.secretsGroup !== undefined ? { secretsGroup: load.secretsGroup } : {}),
  };
  const ctx: SchemaContext = {
    baseDir: load.baseDir,
    skipSecrets: load.secretsOf === 'notifier' || load.secretsOf === 'none',
    ...warn,
    ...(load.secretPath ? { secretPath: load.secretPath } : {}),
  };
  const exporter = z
    .strictObject({
      listen: listenAddress.default('127.0.0.1:9850'),
      bearer_token_file: secretFile(ctx)
        .optional()
        .describe(
          'File holding a bearer token that GET /metrics then requires (Prometheus: authorization.credentials_file).',
        ),
      tls: z
        .strictObject({
          cert_file: z
            .string({ error: 'expected the path of a PEM certificate (chain) file' })
            .min(1, { error: 'expected the path of a PEM certificate (chain) file' })
            .transform((p) => (isAbsolute(p) ? p : resolve(ctx.baseDir, p))),
          key_file: z
            .string({ error: 'expected the path of a PEM private key file' })
            .min(1, { error: 'expected the path of a PEM private key file' })
            .transform((p) => (isAbsolute(p) ? p : resolve(ctx.baseDir, p))),
          reload_interval: duration('how often the files are checked for a change').prefault('30s'),
        })
        .superRefine((t, zctx) => {
          // Checked here, where the error can name the key and line; the notifier leaves them unread.
          if (ctx.skipSecrets) return;
          try {
            const { warning } = loadTls({ certFile: t.cert_file, keyFile: t.key_file });
            if (warning) ctx.warn?.(warning);
          } catch (err) {
            const message = (err as Error).message;
            zctx.addIssue({
              code: 'custom',
              path: [message.startsWith('certificate') ? 'cert_file' : 'key_file'],
              message,
            });
          }
        })
        .optional()
        .describe(
          'Serve HTTPS with this certificate and key (PEM), re-read when either file changes; for an exporter that a Prometheus on another host scrapes.',
        ),
      process_metrics_interval: duration('the longest age of the process metrics served').prefault('5s'),
      max_connections: z
        .number({ error: 'expected a whole number of connections' })
        .int({ error: 'expected a whole number of connections' })
        .min(8, { error: 'expected at least 8 connections' })
        .default(256)
        .describe(
          'Open HTTP connections kept at most; beyond it the longest idle one is closed, so a flood of idle connections cannot starve scrapes or the collectors of file descriptors.',
        ),
      log_level: z.enum(['debug', 'info', 'warn', 'error']).prefault('info'),
    })
    .prefault({});

  return z
    .strictObject({
      $schema: z.string().optional(),
      exporter,
      paths: z
        .strictObject({
          procfs: z.string().startsWith('/', { error: 'expected an absolute path' }).default('/proc'),
          sysfs: z.string().startsWith('/', { error: 'expected an absolute path' }).default('/sys'),
          rootfs: z
            .string()
            .startsWith('/', { error: 'expected an absolute path' })
            .default('/')
            .describe(
              "Where the host's / is mounted when the exporter runs in a container (node_exporter's --path.rootfs).",
            ),
        })
        .prefault({}),
      collectors: collectorsSchema(ctx),
      notifier: notifierSchema({
        baseDir: load.baseDir,
        skipSecrets: load.secretsOf === 'exporter' || load.secretsOf === 'none',
        ...warn,
        ...(load.secretPath ? { secretPath: load.secretPath } : {}),
      }),
    })
    .describe('watchpost configuration (watchpost.yml)');
}

export type ConfigSchema = ReturnType<typeof buildSchema>;
export type Config = z.output<ConfigSchema>;
export type CollectorName = keyof Config['collectors'];
export type CollectorSettings = { enabled: boolean | 'auto'; interval: number; timeout: number };
