// Dependencies and backups: does every service we depend on answer, fast enough, with a valid
// certificate, and is every backup recent and of a plausible size?
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
  row,
  statPanel,
  tablePanel,
  timeseriesPanel,
  upDownMapping,
} from './lib.js';

export function dependenciesDashboard(): dashboard.Dashboard {
  const tlsSteps: [number | null, string][] = [
    [null, 'red'],
    [ALERT_THRESHOLDS.TlsCertificateExpiringCritical, 'orange'],
    [ALERT_THRESHOLDS.TlsCertificateExpiringSoon, 'green'],
  ];
  return base(
    'dependencies',
    'Probes of the services the application depends on (success, latency, failure reason, TLS days left) and the age and size of every backup against its maximum.',
  )
    .withVariable(siteVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withRow(row(100, 'Dependencies'))
    .withPanel(
      tablePanel({
        id: 1,
        title: 'Dependencies',
        description:
          'Every probed dependency: up or down (DependencyDown), why the last probe failed (dns, connect, tls, timeout, status, body), how long it took, the HTTP status and the days left on its TLS certificate.',
        hide: ['instance'],
        queries: [
          { expr: `watchpost_dependency_up{${I}}` },
          { expr: `watchpost_dependency_failure_reason{${I}} == 1` },
          { expr: `watchpost_dependency_duration_seconds{${I}}` },
          { expr: `watchpost_dependency_status_code{${I}}` },
          { expr: `(watchpost_dependency_tls_cert_expiry_timestamp_seconds{${I}} - time()) / 86400` },
        ],
        columns: [
          { ref: 'A', title: 'Up', unit: 'none', steps: UP_STEPS, mappings: upDownMapping() },
          { ref: 'C', title: 'Probe time', unit: 's' },
          { ref: 'D', title: 'HTTP status', unit: 'none' },
          { ref: 'E', title: 'TLS days left', unit: 'none', steps: tlsSteps },
        ],
      }),
    )
    .withPanel(
      dashedSeries(
        timeseriesPanel({
          id: 2,
          title: 'Probe time against the slow threshold',
          description:
            'How long each probe took, with its slow_threshold as a dashed line. DependencySlow fires above it for 3 minutes while the dependency answers.',
          unit: 's',
          min: 0,
          queries: [
            { expr: `watchpost_dependency_duration_seconds{${I}}`, legend: '{{site}} {{host}} {{name}}' },
            {
              expr: `watchpost_dependency_slow_threshold_seconds{${I}}`,
              legend: '{{site}} {{host}} {{name}} slow threshold',
            },
          ],
        }),
        'threshold',
      ),
    )
    .withPanel(
      statPanel({
        id: 3,
        title: 'TLS certificate days left',
        description:
          'Days until the certificate each TLS probe saw expires. TlsCertificateExpiringSoon fires below 14 days (orange), TlsCertificateExpiringCritical below 3 (red).',
        unit: 'none',
        width: 12,
        decimals: 1,
        steps: tlsSteps,
        queries: [
          {
            expr: `(watchpost_dependency_tls_cert_expiry_timestamp_seconds{${I}} - time()) / 86400`,
            legend: '{{site}} {{host}} {{name}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 7,
        title: 'Dependency up',
        description: 'Probe results over time: 1 up, 0 down.',
        unit: 'bool_yes_no',
        min: 0,
        max: 1,
        steps: UP_STEPS,
        queries: [{ expr: `watchpost_dependency_up{${I}}`, legend: '{{site}} {{host}} {{name}}' }],
      }),
    )
    .withRow(row(101, 'Backups'))
    .withPanel(
      tablePanel({
        id: 4,
        title: 'Backups',
        description:
          'Every backup check: the age of the newest backup against its max_age, its size against min_size, the number of files, and whether the folder or marker can be read at all (BackupCheckFailing).',
        hide: ['instance'],
        queries: [
          { expr: `time() - watchpost_backup_last_success_timestamp_seconds{${I}}` },
          { expr: `watchpost_backup_max_age_seconds{${I}}` },
          {
            expr: `(time() - watchpost_backup_last_success_timestamp_seconds{${I}}) / watchpost_backup_max_age_seconds{${I}}`,
          },
          { expr: `watchpost_backup_size_bytes{${I}}` },
          { expr: `watchpost_backup_files{${I}}` },
          { expr: `1 - watchpost_backup_check_up{${I}}` },
        ],
        columns: [
          { ref: 'A', title: 'Age', unit: 'dtdurations' },
          { ref: 'B', title: 'Max age', unit: 'dtdurations' },
          {
            ref: 'C',
            title: 'Age / max age',
            unit: 'percentunit',
            steps: [
              [null, 'green'],
              [0.9, 'orange'],
              [1, 'red'],
            ],
          },
          { ref: 'D', title: 'Size', unit: 'bytes' },
          { ref: 'E', title: 'Files', unit: 'none' },
          { ref: 'F', title: 'Check error', unit: 'bool_yes_no', steps: PROBLEM_STEPS },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 5,
        title: 'Backup age against its maximum',
        description:
          'Age of the newest backup as a share of its max_age: 100% (dashed) is the limit the configuration sets. BackupTooOld fires above it for 30 seconds.',
        unit: 'percentunit',
        min: 0,
        steps: [
          [null, 'green'],
          [1, 'red'],
        ],
        queries: [
          {
            expr: `(time() - watchpost_backup_last_success_timestamp_seconds{${I}}) / watchpost_backup_max_age_seconds{${I}}`,
            legend: '{{site}} {{host}} {{name}}',
          },
        ],
      }),
    )
    .withPanel(
      dashedSeries(
        timeseriesPanel({
          id: 6,
          title: 'Backup size',
          description:
            'Size of the newest backup file, with min_size as a dashed line. BackupTooSmall fires when a backup is under half the largest of the last 2 days for an hour.',
          unit: 'bytes',
          min: 0,
          queries: [
            { expr: `watchpost_backup_size_bytes{${I}}`, legend: '{{site}} {{host}} {{name}}' },
            { expr: `watchpost_backup_min_size_bytes{${I}}`, legend: '{{site}} {{host}} {{name}} minimum' },
          ],
        }),
        'minimum',
      ),
    )
    .build();
}
