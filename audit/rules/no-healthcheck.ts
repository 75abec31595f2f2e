import { longRunning } from '../images.js';
import { perService, type Rule } from '../types.js';

export const noHealthcheck: Rule = {
  id: 'no-healthcheck',
  severity: 'warning',
  title: 'No healthcheck on a long-running service',
  rationale:
    "Without a healthcheck Docker reports a hung service as running: nothing restarts it, `depends_on: condition: service_healthy` cannot wait for it, and watchpost's ContainerUnhealthy alert cannot fire. (An image may define its own HEALTHCHECK; the compose file cannot tell.)",
  fix: 'Add `healthcheck: { test: ["CMD", "curl", "-fsS", "http://localhost:PORT/health"], interval: 30s, retries: 3 }` (or `pg_isready`, `redis-cli ping`, ... for a database).',
  check: perService((svc, project) => {
    if (!longRunning(svc, project)) return undefined;
    if (svc.healthcheck && !svc.healthcheck.disable) return undefined;
    return {
      pos: svc.healthcheck?.pos ?? svc.pos,
      service: svc.name,
      message: svc.healthcheck ? 'its healthcheck is disabled' : 'has no healthcheck',
    };
  }),
};
