import { z } from 'zod';
import { checkTimeout, duration, name, type SchemaContext } from '../../../config/fields.js';

const DOCKER_ENDPOINT = /^(unix:\/\/\/.+|tcp:\/\/[^\s/]+:\d+\/?|https?:\/\/[^\s/]+:\d+\/?)$/;

/** The settings of the containers collector: `collectors.containers` in watchpost.yml. */
export function containersSchema(_ctx: SchemaContext) {
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
      label_filter: z
        .array(
          z
            .string()
            .regex(/^[^=\s]+(=.*)?$/, { error: 'expected a Docker label filter: "key" or "key=value"' }),
        )
        .default([])
        .describe(
          'Docker label filters ("key" or "key=value"); when set, only containers carrying all of them are seen (listed, inspected and followed through events), e.g. ["com.docker.compose.project=shop"] on a dockerd shared with other projects. An expected container outside the filter counts as not running.',
        ),
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
  return containers;
}
