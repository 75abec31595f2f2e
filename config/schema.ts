import { z } from 'zod';
import {
  absolutePath,
  byteSize,
  duration,
  hostPort,
  httpUrl,
  listenAddress,
  name,
  ratio,
  regex,
  secretFile,
  type SchemaContext,
} from './fields.js';
import { notifierSchema } from './notifier-schema.js';

export { parseHostPort, parseListen, type SchemaContext } from './fields.js';

/**
 * The one config schema. Every object is strict (an unknown key is an error, so a typo
 * never silently turns a setting off) and every field has a default, so an empty file
 * — or no file at all — is a working config that monitors this host.
 *
 * The schema is built by a function because `*_file` secrets are read while the file is
 * validated, relative to the config file's folder.
 */

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

const DOCKER_ENDPOINT = /^(unix:\/\/\/.+|tcp:\/\/[^\s/]+:\d+\/?|https?:\/\/[^\s/]+:\d+\/?)$/;

/** Filesystem types that hold no user data or are container internals. */
export const DEFAULT_EXCLUDED_FSTYPES = [
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs',
  'efivarfs', 'fuse.lxcfs', 'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'overlay', 'proc', 'procfs',
  'pstore', 'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
]; // prettier-ignore

/** Kernel/runtime mount points and the files Docker bind-mounts into every container. */
export const DEFAULT_EXCLUDED_MOUNTPOINTS =
  '^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+|var/lib/kubelet/.+|snap/.+)($|/)|^/etc/(hostname|hosts|resolv\\.conf)$';

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
}

export function buildSchema(load: LoadContext) {
  const warn = load.warn ? { warn: load.warn } : {};
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
      process_metrics_interval: duration('the refresh interval of the process metrics').prefault('5s'),
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

  const containers = z
    .strictObject({
      enabled: z
        .union([z.boolean(), z.literal('auto')], { error: 'expected true, false or "auto"' })
        .default('auto')
        .describe(
          '"auto" enables the collector when the Docker endpoint is a unix socket that exists; with `expected` containers and no socket, "auto" is an error (check and start say so).',
        ),
      interval: duration('the collection interval').prefault('15s'),
      timeout: duration('the collection timeout').prefault('10s'),
      endpoint: z
        .string()
        .regex(DOCKER_ENDPOINT, {
          error:
            'expected a Docker endpoint: unix:///var/run/docker.sock or tcp://HOST:PORT (a socket proxy)',
        })
        .default('unix:///var/run/docker.sock'),
      resync_interval: duration('the full resync interval').prefault('5m'),
      stats: z
        .enum(['cgroup', 'api', 'none'])
        .default('cgroup')
        .describe(
          'Where per-container CPU and memory come from: the cgroup files (cheap), the Docker stats API (slow), or nowhere.',
        ),
      expected: z
        .array(
          z
            .strictObject({
              name: name('a container name').optional(),
              compose_project: name('a compose project name').optional(),
              compose_service: name('a compose service name').optional(),
            })
            .refine((e) => e.name !== undefined || e.compose_service !== undefined, {
              error: 'expected "name" or "compose_service" (optionally with "compose_project")',
            }),
        )
        .default([])
        .describe('Containers that should exist and run; exported as watchpost_container_expected.'),
    })
    .superRefine(checkTimeout)
    .prefault({});

  const streamServer = z.strictObject({
    name: name('a server name'),
    kind: z.enum(['nginx-rtmp', 'mediamtx']),
    url: httpUrl.describe(
      'nginx-rtmp: the rtmp_stat page (http://host:8080/stat); MediaMTX: the API base (http://host:9997).',
    ),
    username: z.string().optional(),
    password_file: secretFile(ctx).optional(),
    max_streams: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Exported as watchpost_stream_max_publishing for the too-many-streams alert.'),
  });

  const streams = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '5s' }),
      servers: z.array(streamServer).default([]),
      max_body_size: byteSize
        .prefault('4MiB')
        .describe(
          'The most bytes read from one server per run (the stat page, or all MediaMTX API pages together); a longer answer is a failure with reason too_large.',
        ),
      expected: z
        .array(
          z.strictObject({
            server: name('a server name from streams.servers'),
            app: z.string().default(''),
            stream: z.string().min(1),
          }),
        )
        .default([])
        .describe('Streams that should be publishing; exported as watchpost_stream_expected.'),
    })
    .superRefine(checkTimeout)
    .superRefine((c, zctx) => {
      const names = new Set<string>();
      c.servers.forEach((srv, i) => {
        if (names.has(srv.name))
          zctx.addIssue({
            code: 'custom',
            path: ['servers', i, 'name'],
            message: `duplicate server name "${srv.name}"`,
          });
        names.add(srv.name);
      });
      c.expected.forEach((e, i) => {
        if (!names.has(e.server)) {
          zctx.addIssue({
            code: 'custom',
            path: ['expected', i, 'server'],
            message: `no server named "${e.server}" in servers`,
          });
        }
      });
    })
    .prefault({});

  const ffmpeg = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '5s' }),
      binary: regex('the process binary')
        .default('(^|/)ffmpeg$')
        .describe('Matched against argv[0] of each process.'),
      groups: z
        .array(
          z.strictObject({
            name: name('a group name'),
            match: regex('the command-line match'),
            expected: z.number().int().nonnegative().default(0),
          }),
        )
        .default([])
        .describe(
          'Named groups of FFmpeg processes, each matched by a regular expression on the full command line.',
        ),
    })
    .superRefine(checkTimeout)
    .prefault({});

  const dependencyTarget = z.strictObject({
    name: name('a dependency name'),
    kind: z
      .enum(['http', 'https', 'tcp'])
      .describe('http/https: a GET request to url; tcp: a connection to address (optionally with TLS).'),
    url: httpUrl.optional().describe('For kind http and https: the URL to GET.'),
    address: hostPort.optional().describe('For kind tcp: "host:port".'),
    valid_status: z
      .array(
        z
          .number({ error: 'expected an HTTP status code' })
          .int({ error: 'expected an HTTP status code' })
          .min(100, { error: 'expected an HTTP status code from 100 to 599' })
          .max(599, { error: 'expected an HTTP status code from 100 to 599' }),
      )
      .min(1, { error: 'expected at least one status code (leave the key out for any 2xx)' })
      .optional()
      .describe('Status codes that count as up; any 2xx when not set.'),
    body_regex: regex('the body match')
      .optional()
      .describe('A regular expression the response body (its first max_body_size bytes) must match.'),
    headers: z
      .record(z.string(), z.string({ error: 'expected a header value as a string' }))
      .optional()
      .describe('Request headers. Their values never appear in messages.'),
    bearer_token_file: secretFile(ctx)
      .optional()
      .describe('File holding a bearer token sent as "Authorization: Bearer <token>".'),
    tls_verify: z
      .boolean({ error: 'expected true or false' })
      .default(true)
      .describe('Verify the certificate chain and host name (https, and tcp with tls).'),
    tls: z
      .boolean({ error: 'expected true or false' })
      .default(false)
      .describe('For kind tcp: do a TLS handshake after connecting.'),
    probe_timeout: duration('the probe timeout').prefault('5s'),
    slow_threshold: duration('the slow threshold')
      .prefault('1s')
      .describe('Exported as watchpost_dependency_slow_threshold_seconds for the slow-dependency alert.'),
  });

  const dependencies = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '10s' }),
      targets: z.array(dependencyTarget).default([]).describe('The services to probe, in parallel.'),
      max_body_size: byteSize
        .prefault('1MiB')
        .describe(
          'The most bytes of a response body read to match body_regex; the rest is not read (the socket is closed).',
        ),
    })
    .superRefine(checkTimeout)
    .superRefine((c, zctx) => {
      const names = new Set<string>();
      c.targets.forEach((t, i) => {
        const issue = (key: string, message: string) =>
          zctx.addIssue({ code: 'custom', path: ['targets', i, key], message });
        if (names.has(t.name)) issue('name', `duplicate dependency name "${t.name}"`);
        names.add(t.name);
        if (t.kind === 'tcp') {
          if (t.address === undefined) issue('address', 'expected "address" ("host:port") for kind tcp');
          for (const key of ['url', 'valid_status', 'body_regex', 'headers', 'bearer_token_file'] as const) {
            if (t[key] !== undefined) issue(key, `"${key}" applies to kind http and https only`);
          }
        } else {
          if (t.url === undefined) issue('url', `expected "url" for kind ${t.kind}`);
          else if (!t.url.toLowerCase().startsWith(`${t.kind}://`))
            issue('url', `expected a ${t.kind}:// URL for kind ${t.kind}`);
          if (t.address !== undefined) issue('address', '"address" applies to kind tcp only; use "url"');
          if (t.tls) issue('tls', '"tls" applies to kind tcp only; use an https:// URL');
        }
        if (t.probe_timeout >= c.timeout) {
          issue(
            'probe_timeout',
            'expected the probe timeout to be shorter than the collector timeout, so a hung probe is reported as such',
          );
        }
      });
    })
    .prefault({});

  const backupCheck = z
    .strictObject({
      name: name('a backup check name'),
      path: absolutePath
        .superRefine((text, zctx) => {
          const slash = text.lastIndexOf('/');
          if (text.includes('**')) {
            zctx.addIssue({
              code: 'custom',
              message: '"**" is not supported: wildcards match one folder only',
            });
          } else if (/[*?]/.test(text.slice(0, slash))) {
            zctx.addIssue({
              code: 'custom',
              message:
                'wildcards (* and ?) are allowed in the last path segment only, e.g. /backups/pg/*.sql.gz',
            });
          }
        })
        .optional()
        .describe('The backup files: an absolute path whose last segment may hold * and ? wildcards.'),
      marker: absolutePath
        .optional()
        .describe('A status file a sync job writes: a Unix timestamp or an RFC 3339 time.'),
      marker_time: z
        .enum(['content', 'mtime'])
        .default('content')
        .describe("Where a marker's time comes from: its content, or its modification time."),
      max_age: duration('the maximum age of the newest backup').describe(
        'Exported as watchpost_backup_max_age_seconds for the backup-too-old alert.',
      ),
      min_size: byteSize
        .default(1)
        .describe('Smaller files do not count as a backup (an empty dump never does).'),
    })
    .superRefine((c, zctx) => {
      if ((c.path === undefined) === (c.marker === undefined)) {
        zctx.addIssue({
          code: 'custom',
          path: [c.path === undefined ? 'path' : 'marker'],
          message: 'expected exactly one of "path" and "marker"',
        });
      }
    });

  const backups = z
    .strictObject({
      ...collectorBase({ interval: '1m', timeout: '30s' }),
      checks: z.array(backupCheck).default([]),
    })
    .superRefine(checkTimeout)
    .superRefine((c, zctx) => {
      const names = new Set<string>();
      c.checks.forEach((check, i) => {
        if (names.has(check.name))
          zctx.addIssue({
            code: 'custom',
            path: ['checks', i, 'name'],
            message: `duplicate backup check name "${check.name}"`,
          });
        names.add(check.name);
      });
    })
    .prefault({});

  const logSource = z
    .strictObject({
      name: name('a log source name').describe('The `source` label of every metric of this source; unique.'),
      file: absolutePath
        .optional()
        .describe('A log file to follow like `tail -F` (rotation by rename or copytruncate is followed).'),
      symlink_outside_folder: z
        .boolean({ error: 'expected true or false' })
        .default(false)
        .describe(
          'With file: follow it when it resolves (through symlinks) to a file outside its own folder; refused by default, and checked again on every reopen.',
        ),
      container: name('a container name')
        .optional()
        .describe('A container whose stdout and stderr are followed through the Docker API.'),
      compose_service: name('a compose service name')
        .optional()
        .describe('A Compose service whose container is followed (re-resolved when it is recreated).'),
      compose_project: name('a compose project name')
        .optional()
        .describe('With compose_service: the Compose project the service belongs to.'),
      format: z.enum(['sshd', 'nginx', 'json', 'regex']).describe('How lines are matched.'),
      login_paths: z
        .array(z.string().startsWith('/', { error: 'expected a URL path starting with "/"' }))
        .default(['/login'])
        .describe('Format nginx: paths (and the paths below them) whose 401/403 answers are auth failures.'),
      json: z
        .strictObject({
          result_field: z
            .string({ error: 'expected the name of the field holding the result' })
            .min(1)
            .describe(
              'The field holding the result; a dotted path such as "auth.result" reaches into objects.',
            ),
          failure_values: z
            .array(z.union([z.string(), z.number(), z.boolean()]))
            .min(1, { error: 'expected at least one value that means a failed attempt' }),
          success_values: z.array(z.union([z.string(), z.number(), z.boolean()])).default([]),
          client_field: z.string().min(1).optional().describe('The field holding the client address.'),
        })
        .optional()
        .describe('Format json: which field says whether an authentication attempt failed or succeeded.'),
      regex: z
        .strictObject({
          failure: regex('the failure match', { allowed: ['client'], required: ['client'] }).describe(
            'A line matching this is a failed attempt; its named group (?<client>...) gives the client. RE2 syntax.',
          ),
          success: regex('the success match', { allowed: ['client'] })
            .optional()
            .describe('A line matching this is a successful attempt. RE2 syntax.'),
        })
        .optional()
        .describe('Format regex: regular expressions for failed and successful attempts.'),
    })
    .superRefine((s, zctx) => {
      const issue = (key: string, message: string) => zctx.addIssue({ code: 'custom', path: [key], message });
      const targets = (['file', 'container', 'compose_service'] as const).filter((k) => s[k] !== undefined);
      if (targets.length !== 1) {
        issue(
          targets[1] ?? 'file',
          'expected exactly one of "file", "container" and "compose_service" (with optional "compose_project")',
        );
      }
      if (s.symlink_outside_folder && s.file === undefined)
        issue('symlink_outside_folder', '"symlink_outside_folder" applies only with "file"');
      if (s.compose_project !== undefined && s.compose_service === undefined)
        issue('compose_project', '"compose_project" applies only with "compose_service"');
      if (s.format === 'json' && s.json === undefined)
        issue('json', 'expected "json" ({ result_field, failure_values }) for format json');
      if (s.format !== 'json' && s.json !== undefined) issue('json', '"json" applies to format json only');
      if (s.format === 'regex' && s.regex === undefined)
        issue('regex', 'expected "regex" ({ failure, success }) for format regex');
      if (s.format !== 'regex' && s.regex !== undefined)
        issue('regex', '"regex" applies to format regex only');
    });

  const logs = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '5s' }),
      max_line_bytes: byteSize
        .default(65536)
        .describe('Longer lines are cut to this size (the rest is discarded and counted).'),
      max_clients: z
        .number({ error: 'expected a whole number of clients' })
        .int({ error: 'expected a whole number of clients' })
        .positive({ error: 'expected at least 1 client' })
        .default(1000)
        .describe('Distinct client series per source; the least recently seen client is evicted above it.'),
      sources: z.array(logSource).default([]).describe('The logs to follow.'),
    })
    .superRefine(checkTimeout)
    .superRefine((c, zctx) => {
      if (c.max_line_bytes < 256)
        zctx.addIssue({ code: 'custom', path: ['max_line_bytes'], message: 'expected at least 256 bytes' });
      const names = new Set<string>();
      c.sources.forEach((s, i) => {
        if (names.has(s.name))
          zctx.addIssue({
            code: 'custom',
            path: ['sources', i, 'name'],
            message: `duplicate log source name "${s.name}"`,
          });
        names.add(s.name);
      });
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
      collectors: z
        .strictObject({ host, disk, containers, streams, ffmpeg, dependencies, backups, logs })
        .prefault({}),
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
export type ConfigInput = z.input<ConfigSchema>;
export type CollectorName = keyof Config['collectors'];
export type CollectorSettings = { enabled: boolean | 'auto'; interval: number; timeout: number };
