import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import {
  byteSize,
  duration,
  httpUrl as anyHttpUrl,
  listenAddress,
  name,
  secretFile,
  type SchemaContext,
} from './fields.js';
import { parseMatcher } from '../internal/matchers.js';

/**
 * The `notifier:` section of watchpost.yml: the webhook server Alertmanager posts to, its
 * durable outbox, and the channels it relays to. Same house rules as config/schema.ts:
 * strict objects, a default for everything, secrets only through `*_file` keys.
 */

/** Base URLs are joined with paths, so a trailing slash is dropped. */
const httpUrl = anyHttpUrl.transform((url) => url.replace(/\/+$/, ''));
const channelName = name('a channel name');

export function notifierSchema(ctx: SchemaContext) {
  const slack = z.strictObject({
    webhook_url_file: secretFile(ctx).describe(
      'File holding the Slack incoming-webhook URL (it is a credential: never put it in the config file).',
    ),
  });

  const email = z.strictObject({
    host: z.string({ error: 'expected the SMTP server host name' }).min(1),
    port: z
      .number({ error: 'expected a port number' })
      .int({ error: 'expected a port number' })
      .min(1, { error: 'expected a port from 1 to 65535' })
      .max(65535, { error: 'expected a port from 1 to 65535' })
      .default(587),
    secure: z
      .boolean({ error: 'expected true or false' })
      .default(false)
      .describe('TLS from the first byte (SMTPS, usually port 465).'),
    starttls: z
      .boolean({ error: 'expected true or false' })
      .default(true)
      .describe('Require STARTTLS before authenticating (port 587). Ignored when secure is true.'),
    tls_verify: z
      .boolean({ error: 'expected true or false' })
      .default(true)
      .describe("Verify the server's certificate chain and host name."),
    username: z.string().min(1).optional(),
    password_file: secretFile(ctx).optional(),
    from: z.string({ error: 'expected the sender address' }).min(3),
    to: z
      .array(z.string().min(3), { error: 'expected a list of recipient addresses' })
      .min(1, { error: 'expected at least one recipient' }),
  });

  const channel = z
    .strictObject({
      name: channelName,
      type: z.enum(['slack', 'email', 'log']),
      severities: z
        .array(z.string().min(1))
        .min(1, { error: 'expected at least one severity (leave the key out for all)' })
        .optional()
        .describe('Severities this channel receives (critical, warning, info, ...); all when not set.'),
      matchers: z
        .array(
          z.string({ error: 'expected a matcher string such as team="db"' }).transform((text, zctx) => {
            const parsed = parseMatcher(text);
            if (!parsed.ok) {
              zctx.addIssue({ code: 'custom', message: parsed.error });
              return z.NEVER;
            }
            return parsed.matcher;
          }),
          { error: `expected a list of matcher strings such as ['team="db"']` },
        )
        .optional()
        .describe(
          'Alertmanager-style label matchers (label="value", label!="value", label=~"regex", label!~"regex"); a notification comes here when one of its alerts has a matching severity and matches all of them.',
        ),
      slack: slack.optional(),
      email: email.optional(),
    })
    .superRefine((c, zctx) => {
      if (c.type === 'slack' && !c.slack)
        zctx.addIssue({
          code: 'custom',
          path: ['slack'],
          message: 'expected "slack" settings for type slack',
        });
      if (c.type === 'email' && !c.email)
        zctx.addIssue({
          code: 'custom',
          path: ['email'],
          message: 'expected "email" settings for type email',
        });
      if (c.type !== 'slack' && c.slack)
        zctx.addIssue({ code: 'custom', path: ['slack'], message: `"slack" applies to type slack only` });
      if (c.type !== 'email' && c.email)
        zctx.addIssue({ code: 'custom', path: ['email'], message: `"email" applies to type email only` });
      if (c.email && c.email.password_file && !c.email.username)
        zctx.addIssue({
          code: 'custom',
          path: ['email', 'username'],
          message: 'expected "username" with "password_file"',
        });
    })
    // Checked above; the output is a union on `type`, so that a slack channel's settings
    // are known to exist without a `!` (zod runs this only on a channel without issues).
    .transform((c, zctx) => {
      const { slack, email, ...common } = c;
      if (c.type === 'slack' && slack) return { ...common, type: 'slack' as const, slack };
      if (c.type === 'email' && email) return { ...common, type: 'email' as const, email };
      if (c.type === 'log') return { ...common, type: 'log' as const };
      zctx.addIssue({ code: 'custom', message: `expected the settings of type ${c.type}` });
      return z.NEVER;
    });

  return z
    .strictObject({
      listen: listenAddress.default('127.0.0.1:9851'),
      log_level: z
        .enum(['debug', 'info', 'warn', 'error'])
        .prefault('info')
        .describe("The notifier's log level (logfmt lines on stderr); independent of exporter.log_level."),
      bearer_token_file: secretFile(ctx)
        .optional()
        .describe(
          'File holding the bearer token Alertmanager sends. When not set, a token is generated on first start into state_dir/token.',
        ),
      state_dir: z
        .string()
        .min(1)
        .default('./.watchpost/notifier')
        .transform((dir) => (isAbsolute(dir) ? dir : resolve(ctx.baseDir, dir)))
        .describe('Folder of the durable outbox (and of the generated token).'),
      max_body_bytes: byteSize.prefault('1MiB'),
      max_connections: z
        .number({ error: 'expected a whole number of connections' })
        .int({ error: 'expected a whole number of connections' })
        .min(8, { error: 'expected at least 8 connections' })
        .default(256)
        .describe(
          'Open HTTP connections kept at most; beyond it the longest idle one is closed, so a flood of idle connections cannot starve Alertmanager or the outbox of file descriptors.',
        ),
      outbox_max_entries: z
        .number({ error: 'expected a whole number' })
        .int({ error: 'expected a whole number' })
        .positive({ error: 'expected a positive number' })
        .default(10000)
        .describe('Undelivered notifications kept; beyond it new ones are refused with 503.'),
      outbox_max_bytes: byteSize
        .prefault('64MiB')
        .describe(
          'Bytes of undelivered notifications kept in the outbox; beyond it new ones are refused with 503.',
        ),
      max_delivery_age: duration('the maximum delivery age')
        .prefault('1h')
        .describe(
          'A notification not delivered to a channel this long after it was accepted is given up on for that channel.',
        ),
      retry: z
        .strictObject({
          base: duration('the first retry wait')
            .prefault('1s')
            .describe(
              'The first retry waits up to this long; each further one up to twice as long (full jitter).',
            ),
          cap: duration('the longest retry wait')
            .prefault('5m')
            .describe("No retry waits longer, a server's Retry-After included."),
          max_attempts: z
            .number({ error: 'expected a whole number' })
            .int({ error: 'expected a whole number' })
            .positive({ error: 'expected a positive number' })
            .default(50)
            .describe('Attempts per notification and channel before it is given up on.'),
        })
        .prefault({}),
      prometheus_url: httpUrl
        .optional()
        .describe(
          "Prometheus's URL: a resolved message shows the current value of the alert's expression, queried from here.",
        ),
      dedupe_window: duration('the dedupe window')
        .prefault('10m')
        .describe('An identical webhook body within this window is a retry and is not delivered again.'),
      alertmanager_url: httpUrl
        .optional()
        .describe("Alertmanager's URL for silence links; the payload's externalURL when not set."),
      runbook_base_url: httpUrl
        .optional()
        .describe('Relative runbook_url annotations are resolved against it.'),
      dashboard_base_url: httpUrl
        .optional()
        .describe('Relative dashboard_url annotations are resolved against it.'),
      heartbeat: z
        .strictObject({
          timeout: duration('the heartbeat timeout')
            .prefault('5m')
            .describe(
              'Silence after the first heartbeat for this long raises "the monitoring pipeline is silent".',
            ),
        })
        .prefault({}),
      channels: z
        .array(channel)
        .prefault([{ name: 'log', type: 'log' }])
        .describe('Where notifications go; one "log" channel by default.'),
    })
    .superRefine((c, zctx) => {
      if (c.retry.cap < c.retry.base)
        zctx.addIssue({
          code: 'custom',
          path: ['retry', 'cap'],
          message: 'expected retry.cap to be at least retry.base',
        });
      const names = new Set<string>();
      c.channels.forEach((ch, i) => {
        if (names.has(ch.name))
          zctx.addIssue({
            code: 'custom',
            path: ['channels', i, 'name'],
            message: `duplicate channel name "${ch.name}"`,
          });
        names.add(ch.name);
      });
    })
    .prefault({});
}

export type NotifierSchema = ReturnType<typeof notifierSchema>;
export type NotifierConfig = z.output<NotifierSchema>;
export type ChannelConfig = NotifierConfig['channels'][number];
