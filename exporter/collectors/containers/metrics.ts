import { counter, gauge } from '../../metric-families.js';

const CONTAINER = ['name', 'image', 'compose_project', 'compose_service'] as const;
const EXPECTED = ['name', 'compose_project', 'compose_service'] as const;

export const running = gauge(
  'watchpost_container_running',
  'Whether the container is running (1) or not (0).',
  CONTAINER,
);
export const state = gauge(
  'watchpost_container_state',
  'Docker state of the container: 1 for its current state, 0 for the others.',
  [...CONTAINER, 'state'],
);
export const health = gauge(
  'watchpost_container_health_status',
  'Healthcheck status of the container: 1 for its current status, 0 for the others; "none" when it has no healthcheck.',
  [...CONTAINER, 'status'],
);
export const exitCode = gauge(
  'watchpost_container_exit_code',
  'Exit code of the last run of the container (0 while it has never exited).',
  CONTAINER,
);
export const oomKilled = gauge(
  'watchpost_container_oom_killed',
  'Whether the last run of the container was killed for running out of memory (1) or not (0).',
  CONTAINER,
);
// Not "_restart_count": promtool rejects a _count suffix outside histograms and
// summaries. A counter (kube-state-metrics' ..._restarts_total), for increase():
// Docker's RestartCount goes back to 0 when the container is recreated or restarted
// by hand, which Prometheus reads as a counter reset.
export const restarts = counter(
  'watchpost_container_restarts_total',
  'Times Docker restarted the container under its restart policy (RestartCount) since it was created or last started by hand.',
  CONTAINER,
);
export const startedAt = gauge(
  'watchpost_container_started_at_timestamp_seconds',
  'Time the container last started, as a Unix timestamp in seconds; absent if it never started.',
  CONTAINER,
);
export const cpuSeconds = counter(
  'watchpost_container_cpu_seconds_total',
  'CPU time (user and system) the running container used since it started, in seconds.',
  CONTAINER,
);
export const memoryUsage = gauge(
  'watchpost_container_memory_usage_bytes',
  'Memory the running container uses (its cgroup memory usage, page cache included), in bytes.',
  CONTAINER,
);
export const memoryLimit = gauge(
  'watchpost_container_memory_limit_bytes',
  'Memory limit of the running container in bytes; absent when it has none.',
  CONTAINER,
);
export const expected = gauge(
  'watchpost_container_expected',
  'A container the configuration expects to exist and run (always 1), by the fields it is matched on; empty when not set.',
  EXPECTED,
);
export const expectedRunning = gauge(
  'watchpost_container_expected_running',
  'Number of running containers that match an expected container (0 when none exists or runs).',
  EXPECTED,
);
export const events = counter(
  'watchpost_container_events_total',
  'Container events received from Docker since the exporter started, by action ("other" for actions not listed in the docs).',
  ['action'],
);
// As cAdvisor's container_oom_events_total: every container has the series from the
// moment it is seen (at 0), so increase() also sees its first OOM kill.
export const oomEvents = counter(
  'watchpost_container_oom_events_total',
  'OOM kills of the container seen as Docker "oom" events since the exporter started; unlike watchpost_container_oom_killed it survives the restart that clears OOMKilled.',
  CONTAINER,
);
export const dockerUp = gauge(
  'watchpost_docker_up',
  'Whether the Docker API answered the last run of the containers collector (1) or not (0); while it is 0 no container can be seen and every expected container counts as not running.',
);
export const dockerDown = gauge(
  'watchpost_docker_down_reason',
  'Why the Docker API could not be reached: 1 for the current reason while watchpost_docker_up is 0, 0 for the others; absent while it is up.',
  ['reason'],
);

export const FAMILIES = [
  running,
  state,
  health,
  exitCode,
  oomKilled,
  restarts,
  startedAt,
  cpuSeconds,
  memoryUsage,
  memoryLimit,
  expected,
  expectedRunning,
  events,
  oomEvents,
  dockerUp,
  dockerDown,
];
