// Security: who is failing to log in, from where, and is the application answering with errors?
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  ALERT_THRESHOLDS,
  I,
  UP_STEPS,
  base,
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

export function securityDashboard(): dashboard.Dashboard {
  const S = `${I}, source=~"$source"`;
  return base(
    'security',
    'Authentication attempts by source and result, the clients failing most, HTTP status classes and the 5xx ratio, from the logs watchpost follows.',
  )
    .withVariable(siteVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'source',
        'Log source',
        'label_values(watchpost_log_source_up{site=~"$site", host=~"$host", instance=~"$instance"}, source)',
        'Log sources to show (collectors.logs.sources).',
      ),
    )
    .withRow(row(100, 'Authentication'))
    .withPanel(
      timeseriesPanel({
        id: 1,
        title: 'Authentication attempts in 5 minutes',
        description:
          'Logins found in each log source over the last 5 minutes, by result. AuthFailureSpike fires when the failures of one source stay above the dashed line for 1 minute.',
        unit: 'short',
        min: 0,
        steps: [
          [null, 'green'],
          [ALERT_THRESHOLDS.AuthFailureSpike, 'red'],
        ],
        queries: [
          {
            expr: `sum by (site, host, instance, source, result) (increase(watchpost_auth_attempts_total{${S}}[5m]))`,
            legend: '{{site}} {{host}} {{source}} {{result}}',
          },
        ],
      }),
    )
    .withPanel(
      tablePanel({
        id: 2,
        title: 'Top failing clients (last 10 minutes)',
        description:
          'The 20 client addresses with the most failed logins over 10 minutes, per source: the address to block. BruteForceFromClient fires above 20 for 2 minutes.',
        width: 12,
        hide: ['instance'],
        sortBy: 'Failures in 10 min',
        queries: [{ expr: `topk(20, increase(watchpost_auth_failures_by_client_total{${S}}[10m]))` }],
        columns: [
          {
            ref: 'A',
            title: 'Failures in 10 min',
            unit: 'short',
            steps: [
              [null, 'green'],
              [1, 'orange'],
              [ALERT_THRESHOLDS.BruteForceFromClient, 'red'],
            ],
          },
        ],
      }),
    )
    .withRow(row(101, 'HTTP'))
    .withPanel(
      timeseriesPanel({
        id: 3,
        title: 'HTTP responses by status class',
        description: 'Responses per second found in the access logs (format nginx), by status class.',
        unit: 'reqps',
        min: 0,
        queries: [
          {
            expr: `sum by (site, host, instance, source, code_class) (rate(watchpost_http_responses_total{${S}}[$__rate_interval]))`,
            legend: '{{site}} {{host}} {{source}} {{code_class}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 4,
        title: 'HTTP error ratio (5xx)',
        description:
          'Share of responses that are 5xx over 2 minutes, as HttpErrorRatioHigh computes it; it fires after 1 minute above the dashed line (with at least 0.2 requests a second and 5 errors in the 2 minutes).',
        unit: 'percentunit',
        min: 0,
        steps: [
          [null, 'green'],
          [ALERT_THRESHOLDS.HttpErrorRatioHigh, 'red'],
        ],
        queries: [
          {
            expr: `sum by (site, host, instance, source) (rate(watchpost_http_responses_total{${S}, code_class="5xx"}[2m])) / sum by (site, host, instance, source) (rate(watchpost_http_responses_total{${S}}[2m]))`,
            legend: '{{site}} {{host}} {{source}}',
          },
        ],
      }),
    )
    .withRow(row(102, 'Log sources'))
    .withPanel(
      statPanel({
        id: 5,
        title: 'Log sources followed',
        description:
          'Whether each log file or container is being followed. A source that is missing or stopped counts nothing: LogSourceDown fires after 10 minutes.',
        unit: 'none',
        width: 12,
        steps: UP_STEPS,
        mappings: upDownMapping(),
        queries: [{ expr: `watchpost_log_source_up{${S}}`, legend: '{{site}} {{host}} {{source}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 6,
        title: 'Log lines read and not understood',
        description:
          'Lines read per second from each source, and lines that were not in the source format (parse errors): a format change in the application shows here first.',
        unit: 'cps',
        min: 0,
        queries: [
          {
            expr: `sum by (site, host, instance, source) (rate(watchpost_log_lines_total{${S}}[$__rate_interval]))`,
            legend: '{{site}} {{host}} {{source}} lines',
          },
          {
            expr: `sum by (site, host, instance, source) (rate(watchpost_log_parse_errors_total{${S}}[$__rate_interval]))`,
            legend: '{{site}} {{host}} {{source}} parse errors',
          },
        ],
      }),
    )
    .build();
}
