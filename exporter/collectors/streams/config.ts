import { z } from 'zod';
import {
  byteSize,
  checkTimeout,
  collectorBase,
  httpUrl,
  name,
  secretFile,
  type SchemaContext,
} from '../../../config/fields.js';

/** The settings of the streams collector: `collectors.streams` in watchpost.yml. */
export function streamsSchema(ctx: SchemaContext) {
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
  return streams;
}
