import { z } from 'zod';
import {
  byteSize,
  checkTimeout,
  collectorBase,
  duration,
  hostPort,
  httpUrl,
  name,
  regex,
  secretFile,
  type SchemaContext,
} from '../../../config/fields.js';

/** The settings of the dependencies collector: `collectors.dependencies` in watchpost.yml. */
export function dependenciesSchema(ctx: SchemaContext) {
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
    // Checked above; each target's output is a union on `kind`, so that a tcp target's
    // address and an http target's url are known to exist without a `!` (zod runs this only
    // on a section without issues).
    .transform((c, zctx) => {
      const targets = [];
      for (const t of c.targets) {
        const { url, address, ...common } = t;
        if (t.kind === 'tcp' && address !== undefined) targets.push({ ...common, kind: t.kind, address });
        else if (t.kind !== 'tcp' && url !== undefined) targets.push({ ...common, kind: t.kind, url });
        else {
          zctx.addIssue({ code: 'custom', message: `dependency "${t.name}" has no address to probe` });
          return z.NEVER;
        }
      }
      return { ...c, targets };
    })
    .prefault({});
  return dependencies;
}
