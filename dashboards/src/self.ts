// Self-monitoring: is watchpost itself working — every collector, every scrape, every delivery?
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  ALERT_THRESHOLDS,
  I,
  UP_STEPS,
  base,
  hostVariable,
  instanceVariable,
  siteVariable,
  row,
  statPanel,
  timeseriesPanel,
  upDownMapping,
} from './lib.js';

/** Prometheus jobs of the exporter and the notifier (provisioning/prometheus/prometheus.yml). */
const JOBS = 'watchpost|watchpost-notifier';

export function selfDashboard(): dashboard.Dashboard {
  const J = `job=~"${JOBS}", ${I}`;
  return base(
    'self',
    'watchpost watching itself: scrape targets, collector success and duration, scrape size, notifier deliveries, failures, outbox depth and the last heartbeat.',
  )
    .withVariable(siteVariable(JOBS))
    .withVariable(hostVariable(JOBS))
    .withVariable(instanceVariable(JOBS))
    .withRow(row(100, 'Exporter'))
    .withPanel(
      statPanel({
        id: 1,
        title: 'Scrape targets',
        description:
          'Whether Prometheus can scrape the exporter and the notifier. WatchpostExporterDown fires after 1 minute down and WatchpostNotifierDown after 2 minutes; WatchpostExporterAbsent when the target is gone from Prometheus altogether (then this panel has no exporter).',
        unit: 'none',
        width: 12,
        steps: UP_STEPS,
        mappings: upDownMapping(),
        queries: [{ expr: `up{${J}}`, legend: '{{site}} {{host}} {{job}} {{instance}}' }],
      }),
    )
    .withPanel(
      statPanel({
        id: 2,
        title: 'Collectors',
        description:
          'Whether the last run of each collector succeeded. WatchpostCollectorFailing fires after 2 minutes of failure; the error is on the exporter status page (/).',
        unit: 'none',
        width: 12,
        steps: UP_STEPS,
        mappings: upDownMapping('Failing', 'OK'),
        queries: [{ expr: `watchpost_collector_success{${I}}`, legend: '{{site}} {{host}} {{collector}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 3,
        title: 'Collector duration',
        description: 'How long the last run of each collector took (bounded by its timeout).',
        unit: 's',
        min: 0,
        width: 8,
        queries: [
          { expr: `watchpost_collector_duration_seconds{${I}}`, legend: '{{site}} {{host}} {{collector}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 4,
        title: 'Samples per scrape',
        description:
          'Series in each scrape of the exporter and the notifier (Prometheus scrape_samples_scraped).',
        unit: 'short',
        min: 0,
        width: 8,
        queries: [{ expr: `scrape_samples_scraped{${J}}`, legend: '{{site}} {{host}} {{job}} {{instance}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 11,
        title: 'Scrape duration',
        description: 'How long Prometheus took to scrape each target (scrape_duration_seconds).',
        unit: 's',
        min: 0,
        width: 8,
        queries: [
          { expr: `scrape_duration_seconds{${J}}`, legend: '{{site}} {{host}} {{job}} {{instance}}' },
        ],
      }),
    )
    .withRow(row(101, 'Notifier'))
    .withPanel(
      timeseriesPanel({
        id: 5,
        title: 'Notifications by channel and result',
        description:
          'Delivery attempts per channel: delivered, retried (will be tried again) and failed_permanent (given up). NotifierDeliveryFailing fires on any given-up notification; NotifierDeliveryRetrying after 10 minutes of retries.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (site, host, instance, channel, result) (increase(watchpost_notifier_notifications_total{${I}}[$__rate_interval]))`,
            legend: '{{site}} {{host}} {{channel}} {{result}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 6,
        title: 'Delivery failures by reason',
        description:
          'Failed delivery attempts per channel, by reason (rate_limited, server_error, network, timeout, invalid_token…).',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (site, host, instance, channel, reason) (increase(watchpost_notifier_failures_total{${I}}[$__rate_interval]))`,
            legend: '{{site}} {{host}} {{channel}} {{reason}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 7,
        title: 'Outbox depth',
        description:
          'Notifications accepted but not yet delivered to every channel. NotifierOutboxGrowing fires above the dashed line while it still grows, for 10 minutes.',
        unit: 'short',
        min: 0,
        width: 8,
        steps: [
          [null, 'green'],
          [ALERT_THRESHOLDS.NotifierOutboxGrowing, 'red'],
        ],
        queries: [
          { expr: `watchpost_notifier_outbox_depth{${I}}`, legend: '{{site}} {{host}} {{instance}}' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 8,
        title: 'Since the last heartbeat',
        description:
          'Time since the last Watchdog heartbeat reached the notifier from Alertmanager; it arrives every couple of minutes. Past notifier.heartbeat.timeout (5 minutes by default) the notifier reports the monitoring pipeline silent. Empty before the first heartbeat.',
        unit: 's',
        width: 8,
        steps: [
          [null, 'green'],
          [300, 'red'],
        ],
        queries: [
          {
            expr: `time() - (watchpost_notifier_last_heartbeat_timestamp_seconds{${I}} > 0)`,
            legend: '{{site}} {{host}} {{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 9,
        title: 'Webhooks refused',
        description:
          'Webhook requests the notifier did not accept, by reason: unauthorized (a wrong token), too_large, invalid, outbox_full, duplicate (Alertmanager retrying).',
        unit: 'short',
        min: 0,
        width: 8,
        queries: [
          {
            expr: `sum by (site, host, instance, reason) (increase(watchpost_notifier_rejected_total{${I}}[$__rate_interval]))`,
            legend: '{{site}} {{host}} {{reason}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 12,
        title: 'Oldest undelivered notification',
        description:
          'Per channel, how long the oldest notification still waiting for it has waited (0 when none waits). NotifierDeliveryRetrying fires above the dashed line for 5 minutes.',
        unit: 's',
        min: 0,
        width: 12,
        steps: [
          [null, 'green'],
          [ALERT_THRESHOLDS.NotifierDeliveryRetrying, 'red'],
        ],
        queries: [
          {
            expr: `max by (site, host, instance, channel) (watchpost_notifier_oldest_undelivered_age_seconds{${I}})`,
            legend: '{{site}} {{host}} {{channel}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 13,
        title: 'Queue per channel',
        description: 'Notifications waiting to be delivered to each channel, retries included.',
        unit: 'short',
        min: 0,
        width: 12,
        queries: [{ expr: `watchpost_notifier_queue_depth{${I}}`, legend: '{{site}} {{host}} {{channel}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 10,
        title: 'Delivery time (99th percentile)',
        description: 'Time one delivery attempt to each channel took, successful or not, 99th percentile.',
        unit: 's',
        min: 0,
        width: 24,
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (site, host, instance, channel, le) (rate(watchpost_notifier_delivery_duration_seconds_bucket{${I}}[$__rate_interval])))`,
            legend: '{{site}} {{host}} {{channel}}',
          },
        ],
      }),
    )
    .build();
}
