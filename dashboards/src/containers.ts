// Containers: which containers are down, unhealthy, crash-looping or out of memory, and what do they use?
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  ALERT_THRESHOLDS,
  I,
  PROBLEM_STEPS,
  UP_STEPS,
  base,
  dashedSeries,
  hostVariable,
  instanceVariable,
  siteVariable,
  labelVariable,
  row,
  statPanel,
  tablePanel,
  timeseriesPanel,
  upDownMapping,
} from './lib.js';

export function containersDashboard(): dashboard.Dashboard {
  const S = `${I}, compose_project=~"$compose_project"`;
  const on = 'on(site, host, instance, name, image, compose_project, compose_service)';
  return base(
    'containers',
    'Every Docker container, stopped ones too: state, health, exit code, restarts, OOM kills, uptime, CPU and memory.',
  )
    .withVariable(siteVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'compose_project',
        'Compose project',
        'label_values(watchpost_container_state{site=~"$site", host=~"$host", instance=~"$instance"}, compose_project)',
        'Compose projects to show (All includes containers without compose labels).',
      ),
    )
    .withRow(row(100, 'State'))
    .withPanel(
      tablePanel({
        id: 1,
        title: 'Containers',
        description:
          'One row per container: its state and health (labels), exit code of the last run (ContainerExitedWithError: not 0 and not 143), restarts by the restart policy, whether the last run was OOM-killed, and how long it has been up.',
        height: 10,
        sortBy: 'Exit code',
        hide: ['instance'],
        queries: [
          { expr: `watchpost_container_state{${S}} == 1` },
          { expr: `watchpost_container_health_status{${S}} == 1` },
          { expr: `watchpost_container_exit_code{${S}}` },
          { expr: `watchpost_container_restarts_total{${S}}` },
          { expr: `watchpost_container_oom_killed{${S}}` },
          {
            expr: `(time() - watchpost_container_started_at_timestamp_seconds{${S}}) and ${on} watchpost_container_running{${S}} == 1`,
          },
        ],
        columns: [
          {
            ref: 'C',
            title: 'Exit code',
            unit: 'none',
            steps: [
              [null, 'green'],
              [1, 'red'],
              [143, 'blue'],
              [144, 'red'],
            ],
          },
          {
            ref: 'D',
            title: 'Restarts',
            unit: 'none',
            steps: [
              [null, 'green'],
              [1, 'orange'],
              [ALERT_THRESHOLDS.ContainerRestartLoop, 'red'],
            ],
          },
          { ref: 'E', title: 'OOM-killed', unit: 'bool_yes_no', steps: PROBLEM_STEPS },
          { ref: 'F', title: 'Up for', unit: 'dtdurations' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 2,
        title: 'Expected containers running',
        description:
          'For each container the configuration expects (collectors.containers.expected): how many matching containers run. 0 is ExpectedContainerNotRunning, also when the container was never created.',
        unit: 'none',
        width: 12,
        steps: UP_STEPS,
        queries: [
          {
            expr: `watchpost_container_expected_running{${S}}`,
            legend: '{{site}} {{host}} {{name}}{{compose_project}} {{compose_service}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 3,
        title: 'Unhealthy containers',
        description:
          'Containers whose healthcheck reports unhealthy (1). ContainerUnhealthy fires after 2 minutes of it.',
        unit: 'bool_yes_no',
        min: 0,
        max: 1,
        steps: PROBLEM_STEPS,
        queries: [
          {
            expr: `watchpost_container_health_status{${S}, status="unhealthy"}`,
            legend: '{{site}} {{host}} {{name}}',
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 9,
        title: 'Docker API',
        description:
          'Whether the exporter reached the Docker API at its last run, and why not. While it is down no container can be seen and every expected container counts as not running: DockerUnreachable fires after 1 minute.',
        unit: 'none',
        width: 12,
        steps: UP_STEPS,
        mappings: upDownMapping(),
        queries: [
          { expr: `watchpost_docker_up{${I}}`, legend: '{{site}} {{host}} {{instance}}' },
          {
            expr: `watchpost_docker_down_reason{${I}} == 1`,
            legend: '{{site}} {{host}} {{reason}}',
            context: true,
          },
        ],
      }),
    )
    .withRow(row(101, 'Crashes'))
    .withPanel(
      timeseriesPanel({
        id: 4,
        title: 'Restarts in the last 15 minutes',
        description:
          'Restarts made by the restart policy over 15 minutes. ContainerRestartLoop fires at the dashed line or above for 1 minute.',
        unit: 'short',
        min: 0,
        steps: [
          [null, 'green'],
          [ALERT_THRESHOLDS.ContainerRestartLoop, 'red'],
        ],
        queries: [
          {
            expr: `increase(watchpost_container_restarts_total{${S}}[15m])`,
            legend: '{{site}} {{host}} {{name}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 5,
        title: 'OOM kills (last 10 minutes)',
        description:
          "OOM kills per container over 10 minutes, counted from Docker's oom events (a restart policy cannot hide them), and whether the last run was OOM-killed. ContainerOomKilled fires on either.",
        unit: 'short',
        min: 0,
        steps: PROBLEM_STEPS,
        queries: [
          {
            expr: `increase(watchpost_container_oom_events_total{${S}}[10m])`,
            legend: '{{site}} {{host}} {{name}} OOM events',
          },
          {
            expr: `max_over_time(watchpost_container_oom_killed{${S}}[10m])`,
            legend: '{{site}} {{host}} {{name}} last run OOM-killed',
          },
        ],
      }),
    )
    .withRow(row(102, 'Resources'))
    .withPanel(
      timeseriesPanel({
        id: 6,
        title: 'CPU per container',
        description: 'CPU time used per second by each running container: 1 = one full CPU core.',
        unit: 'percentunit',
        min: 0,
        queries: [
          {
            expr: `rate(watchpost_container_cpu_seconds_total{${S}}[$__rate_interval])`,
            legend: '{{site}} {{host}} {{name}}',
          },
        ],
      }),
    )
    .withPanel(
      dashedSeries(
        timeseriesPanel({
          id: 7,
          title: 'Memory per container',
          description:
            'Memory each running container uses (page cache included), with its memory limit, when it has one, as a dashed line.',
          unit: 'bytes',
          min: 0,
          queries: [
            { expr: `watchpost_container_memory_usage_bytes{${S}}`, legend: '{{site}} {{host}} {{name}}' },
            {
              expr: `watchpost_container_memory_limit_bytes{${S}}`,
              legend: '{{site}} {{host}} {{name}} limit',
            },
          ],
        }),
        'limit',
      ),
    )
    .withPanel(
      timeseriesPanel({
        id: 8,
        title: 'Docker events',
        description: 'Container events Docker reported, by action (start, die, oom, restart…).',
        unit: 'short',
        min: 0,
        width: 24,
        queries: [
          {
            expr: `sum by (action) (increase(watchpost_container_events_total{${I}}[$__rate_interval]))`,
            legend: '{{action}}',
          },
        ],
      }),
    )
    .build();
}
