// Overview: one glance for on-call. Is anything firing, and which part of the stack is it in?
// Every stat links to the dashboard that explains it.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  ALERT_THRESHOLDS,
  I,
  PROBLEM_STEPS,
  UP_STEPS,
  base,
  hostVariable,
  instanceVariable,
  siteVariable,
  linkTo,
  row,
  statPanel,
  tablePanel,
  upDownMapping,
} from './lib.js';

export function overviewDashboard(): dashboard.Dashboard {
  const ratioSteps: [number | null, string][] = [
    [null, 'green'],
    [0.9, 'orange'],
    [1, 'red'],
  ];
  return base(
    'overview',
    'One glance for on-call: firing alerts, containers, disks, streams, FFmpeg, dependencies, backups, logins and the notifier; each stat opens its detail dashboard.',
  )
    .withVariable(siteVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withRow(row(100, 'Now'))
    .withPanel(
      statPanel({
        id: 1,
        title: 'Firing alerts',
        description:
          'Alerts firing now in the whole installation, whatever site, host or instance is selected (Watchdog, the always-on heartbeat, left out). The table below lists them.',
        unit: 'none',
        width: 4,
        steps: PROBLEM_STEPS,
        queries: [
          {
            expr: 'count(ALERTS{alertstate="firing", alertname!="Watchdog"}) or vector(0)',
            legend: 'firing',
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 2,
        title: 'Expected containers down',
        description:
          'Containers the configuration expects that have no running match, next to all running containers.',
        unit: 'none',
        width: 4,
        steps: PROBLEM_STEPS,
        links: [linkTo('containers', 'Containers', 2)],
        queries: [
          { expr: `count(watchpost_container_expected_running{${I}} == 0) or vector(0)`, legend: 'down' },
          { expr: `sum(watchpost_container_running{${I}})`, legend: 'running', context: true },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 3,
        title: 'Fullest disk, against its threshold',
        description:
          "The filesystem nearest its own alert threshold: used share divided by the threshold, so 100% is where DiskSpaceLow fires whatever the mount's threshold.",
        unit: 'percentunit',
        width: 4,
        steps: ratioSteps,
        links: [linkTo('host', 'Host and disks', 6)],
        queries: [
          {
            expr: `topk(1, watchpost_filesystem_used_ratio{${I}} / watchpost_filesystem_alert_threshold_ratio{${I}})`,
            legend: '{{site}} {{host}} {{mountpoint}}',
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 4,
        title: 'Expected streams missing',
        description: 'Expected streams with no publisher, next to all streams publishing now.',
        unit: 'none',
        width: 4,
        steps: PROBLEM_STEPS,
        links: [linkTo('streams', 'Streams', 2)],
        queries: [
          {
            expr: `count(watchpost_stream_expected{${I}} == 1 unless on(site, host, instance, server, app, stream) watchpost_stream_publishing{${I}} == 1) or vector(0)`,
            legend: 'missing',
          },
          { expr: `sum(watchpost_stream_app_publishing_streams{${I}})`, legend: 'publishing', context: true },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 5,
        title: 'FFmpeg groups short',
        description:
          'FFmpeg groups running fewer processes than expected, next to all FFmpeg processes counted.',
        unit: 'none',
        width: 4,
        steps: PROBLEM_STEPS,
        links: [linkTo('streams', 'Streams', 5)],
        queries: [
          {
            expr: `count(watchpost_ffmpeg_processes{${I}} < watchpost_ffmpeg_expected_processes{${I}}) or vector(0)`,
            legend: 'short',
          },
          { expr: `sum(watchpost_ffmpeg_processes{${I}})`, legend: 'running', context: true },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 6,
        title: 'Dependencies down',
        description: 'Probed dependencies whose last probe failed, next to how many are up.',
        unit: 'none',
        width: 4,
        steps: PROBLEM_STEPS,
        links: [linkTo('dependencies', 'Dependencies and backups', 1)],
        queries: [
          { expr: `count(watchpost_dependency_up{${I}} == 0) or vector(0)`, legend: 'down' },
          { expr: `sum(watchpost_dependency_up{${I}})`, legend: 'up', context: true },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 7,
        title: 'Oldest backup, against its maximum age',
        description:
          'The backup nearest its max_age: age divided by max_age, so 100% is where BackupTooOld fires whatever the check’s own maximum.',
        unit: 'percentunit',
        width: 6,
        steps: ratioSteps,
        links: [linkTo('dependencies', 'Dependencies and backups', 5)],
        queries: [
          {
            expr: `topk(1, (time() - watchpost_backup_last_success_timestamp_seconds{${I}}) / watchpost_backup_max_age_seconds{${I}})`,
            legend: '{{site}} {{host}} {{name}}',
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 8,
        title: 'Failed logins in 5 minutes',
        description:
          'Failed authentication attempts in the last 5 minutes, the busiest log source. AuthFailureSpike fires above 30 for 1 minute.',
        unit: 'short',
        width: 6,
        steps: [
          [null, 'green'],
          [1, 'orange'],
          [ALERT_THRESHOLDS.AuthFailureSpike, 'red'],
        ],
        links: [linkTo('security', 'Security', 1)],
        queries: [
          {
            expr: `max(sum by (site, host, instance, source) (increase(watchpost_auth_attempts_total{${I}, result="failure"}[5m])))`,
            legend: 'failures',
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 9,
        title: 'Notifier',
        description:
          'Whether Prometheus reaches the notifier, and notifications waiting in its outbox. Without the notifier no alert reaches Slack or email.',
        unit: 'none',
        width: 6,
        steps: UP_STEPS,
        links: [linkTo('self', 'Self-monitoring', 5)],
        queries: [
          { expr: 'min(up{job="watchpost-notifier"})', legend: 'up' },
          { expr: 'sum(watchpost_notifier_outbox_depth)', legend: 'waiting in outbox', context: true },
        ],
        mappings: upDownMapping(),
      }),
    )
    .withPanel(
      statPanel({
        id: 11,
        title: 'Collectors failing',
        description:
          'watchpost collectors whose last run failed: their part of this overview is not current.',
        unit: 'none',
        width: 6,
        steps: PROBLEM_STEPS,
        links: [linkTo('self', 'Self-monitoring', 2)],
        queries: [{ expr: `count(watchpost_collector_success{${I}} == 0) or vector(0)`, legend: 'failing' }],
      }),
    )
    .withRow(row(101, 'Alerts'))
    .withPanel(
      tablePanel({
        id: 10,
        title: 'Active alerts',
        description:
          'Alerts firing or pending (waiting for their for:) in the whole installation, with their labels. Each notification links to the panel that explains it.',
        height: 9,
        queries: [{ expr: 'ALERTS{alertname!="Watchdog"}' }],
        columns: [],
      }),
    )
    .build();
}
