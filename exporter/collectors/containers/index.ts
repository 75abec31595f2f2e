import { existsSync } from 'node:fs';
import type { Config } from '../../../config/schema.js';
import type { CollectorDescriptor } from '../../collector.js';
import { containersSchema } from './config.js';
import { FAMILIES } from './metrics.js';

/** Why the containers collector cannot run on this host (no Docker socket), or undefined. */
function unavailable(config: Config): string | undefined {
  const endpoint = config.collectors.containers.endpoint;
  if (!endpoint.startsWith('unix://')) return undefined;
  const socket = endpoint.slice('unix://'.length);
  return existsSync(socket) ? undefined : `no Docker socket at ${socket}`;
}

/**
 * Docker containers: state, health, restarts, exit codes, CPU and memory, and the expected
 * ones. The built-in default (`enabled: auto`) watches Docker only where a Docker socket
 * exists, so `npm start` works the same on a laptop without Docker.
 */
export const containers: CollectorDescriptor<'containers', ReturnType<typeof containersSchema>> = {
  name: 'containers',
  configSchema: containersSchema,
  families: FAMILIES,
  async create(deps) {
    const { ContainersCollector } = await import('./containers.js');
    return new ContainersCollector(deps);
  },
  unavailable,
  /**
   * `enabled: auto` skips the collector where there is no Docker socket, which is right on
   * a laptop but wrong when containers are expected: nothing would ever say they are gone.
   */
  hostProblems(config) {
    const settings = config.collectors.containers;
    const why = unavailable(config);
    if (settings.enabled !== 'auto' || settings.expected.length === 0 || why === undefined) return [];
    return [
      {
        path: ['collectors', 'containers', 'expected'],
        message:
          `${settings.expected.length} expected container(s) configured, but ${why}: ` +
          `with enabled: auto the containers collector would not start and nothing would watch them. ` +
          `Mount the Docker socket into the exporter (- /var/run/docker.sock:/var/run/docker.sock:ro), ` +
          `point collectors.containers.endpoint at it, or set collectors.containers.enabled: true ` +
          `to run anyway and page while Docker cannot be reached`,
      },
    ];
  },
};
