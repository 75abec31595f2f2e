import { z } from 'zod';
import {
  absolutePath,
  byteSize,
  checkTimeout,
  collectorBase,
  name,
  regex,
  type SchemaContext,
} from '../../../config/fields.js';

/** The settings of the logs collector: `collectors.logs` in watchpost.yml. */
export function logsSchema(_ctx: SchemaContext) {
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
  return logs;
}
