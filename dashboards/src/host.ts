// Host and disks: is this machine short of CPU, memory or disk, and which disk fills first?
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  ALERT_THRESHOLDS,
  I,
  base,
  dashedSeries,
  hostVariable,
  instanceVariable,
  siteVariable,
  labelVariable,
  row,
  tablePanel,
  timeseriesPanel,
  upDownMapping,
  UP_STEPS,
} from './lib.js';

export function hostDashboard(): dashboard.Dashboard {
  const M = `${I}, mountpoint=~"$mountpoint"`;
  return base(
    'host',
    'CPU, memory, load, every filesystem against its own alert threshold, time to full, folder sizes.',
  )
    .withVariable(siteVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'mountpoint',
        'Mount point',
        'label_values(watchpost_filesystem_size_bytes{site=~"$site", host=~"$host", instance=~"$instance"}, mountpoint)',
        'Filesystems to show.',
      ),
    )
    .withRow(row(100, 'CPU and memory'))
    .withPanel(
      timeseriesPanel({
        id: 1,
        title: 'CPU busy',
        description:
          'Share of CPU time spent outside idle and iowait, over all CPUs. HostHighCpu fires when its 5-minute average stays above the dashed line for 15 minutes.',
        unit: 'percentunit',
        min: 0,
        max: 1,
        steps: [
          [null, 'green'],
          [ALERT_THRESHOLDS.HostHighCpu, 'red'],
        ],
        queries: [{ expr: `watchpost_host_cpu_usage_ratio{${I}}`, legend: '{{site}} {{host}} {{instance}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 2,
        title: 'Memory available',
        description:
          'Memory available to start programs without swapping, as a share of the total. HostLowMemory fires below the dashed line for 10 minutes.',
        unit: 'percentunit',
        min: 0,
        max: 1,
        steps: [
          [null, 'red'],
          [ALERT_THRESHOLDS.HostLowMemory, 'green'],
        ],
        queries: [
          {
            expr: `watchpost_host_memory_available_bytes{${I}} / watchpost_host_memory_total_bytes{${I}}`,
            legend: '{{site}} {{host}} {{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 3,
        title: 'Load average',
        description:
          'Runnable and uninterruptible tasks, next to the number of CPUs: a load well above the CPU count means work is waiting.',
        unit: 'short',
        min: 0,
        width: 8,
        queries: [
          { expr: `watchpost_host_load1{${I}}`, legend: '{{site}} {{host}} {{instance}} 1m' },
          { expr: `watchpost_host_load5{${I}}`, legend: '{{site}} {{host}} {{instance}} 5m' },
          { expr: `watchpost_host_load15{${I}}`, legend: '{{site}} {{host}} {{instance}} 15m' },
          { expr: `watchpost_host_cpus{${I}}`, legend: '{{site}} {{host}} {{instance}} CPUs limit' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 4,
        title: 'Memory and swap used',
        description: 'Memory in use (total minus available) and swap in use, in bytes.',
        unit: 'bytes',
        min: 0,
        width: 8,
        queries: [
          {
            expr: `watchpost_host_memory_total_bytes{${I}} - watchpost_host_memory_available_bytes{${I}}`,
            legend: '{{site}} {{host}} {{instance}} memory used',
          },
          {
            expr: `watchpost_host_memory_total_bytes{${I}}`,
            legend: '{{site}} {{host}} {{instance}} memory total',
          },
          {
            expr: `watchpost_host_swap_total_bytes{${I}} - watchpost_host_swap_free_bytes{${I}}`,
            legend: '{{site}} {{host}} {{instance}} swap used',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 9,
        title: 'CPU by mode',
        description: 'Where CPU time goes (user, system, iowait, steal…), as a share of all CPUs.',
        unit: 'percentunit',
        min: 0,
        width: 8,
        queries: [
          {
            expr: `sum by (site, host, instance, mode) (rate(watchpost_host_cpu_seconds_total{${I}, mode!="idle"}[$__rate_interval])) / on(site, host, instance) group_left() watchpost_host_cpus{${I}}`,
            legend: '{{site}} {{host}} {{instance}} {{mode}}',
          },
        ],
      }),
    )
    .withRow(row(101, 'Disks'))
    .withPanel(
      tablePanel({
        id: 5,
        title: 'Filesystems',
        description:
          'Every filesystem: how full, against its own alert threshold (from the watchpost configuration), what is left, what is predicted for tomorrow, and whether it can be read at all (FilesystemUnreadable).',
        height: 9,
        sortBy: 'Used',
        queries: [
          { expr: `watchpost_filesystem_used_ratio{${M}}` },
          { expr: `watchpost_filesystem_alert_threshold_ratio{${M}}` },
          {
            expr: `watchpost_filesystem_alert_threshold_ratio{${M}} - watchpost_filesystem_used_ratio{${M}}`,
          },
          { expr: `watchpost_filesystem_avail_bytes{${M}}` },
          { expr: `watchpost_filesystem_size_bytes{${M}}` },
          { expr: `predict_linear(watchpost_filesystem_avail_bytes{${M}}[6h], 24 * 3600)` },
          {
            expr: `watchpost_filesystem_avail_bytes{${M}} / -deriv(watchpost_filesystem_avail_bytes{${M}}[6h]) > 0`,
          },
          { expr: `watchpost_filesystem_readonly{${M}}` },
          { expr: `watchpost_filesystem_device_error{${M}}` },
        ],
        columns: [
          {
            ref: 'A',
            title: 'Used',
            unit: 'percentunit',
            steps: [
              [null, 'green'],
              [0.75, 'orange'],
            ],
          },
          { ref: 'B', title: 'Alert threshold', unit: 'percentunit' },
          {
            ref: 'C',
            title: 'Headroom to threshold',
            unit: 'percentunit',
            steps: [
              [null, 'red'],
              [0, 'orange'],
              [0.05, 'green'],
            ],
          },
          { ref: 'D', title: 'Available', unit: 'bytes' },
          { ref: 'E', title: 'Size', unit: 'bytes' },
          {
            ref: 'F',
            title: 'Available in 24 h (predicted)',
            unit: 'bytes',
            steps: [
              [null, 'red'],
              [0, 'green'],
            ],
          },
          { ref: 'G', title: 'Time to full', unit: 's' },
          { ref: 'H', title: 'Read-only', unit: 'bool_yes_no' },
          {
            ref: 'I',
            title: 'Unreadable',
            unit: 'bool_yes_no',
            steps: [
              [null, 'green'],
              [1, 'red'],
            ],
          },
        ],
      }),
    )
    .withPanel(
      dashedSeries(
        timeseriesPanel({
          id: 6,
          title: 'Disk used against its alert threshold',
          description:
            'Used share of each filesystem (df Use%), with its alert threshold from the watchpost configuration as a dashed line: DiskSpaceLow warns when a mount stays above its own line for 3 minutes, and pages (critical) above 97% on any mount (the red line).',
          unit: 'percentunit',
          min: 0,
          max: 1,
          steps: [
            [null, 'transparent'],
            [ALERT_THRESHOLDS['DiskSpaceLow (critical)'], 'red'],
          ],
          queries: [
            {
              expr: `watchpost_filesystem_used_ratio{${M}}`,
              legend: '{{site}} {{host}} {{instance}} {{mountpoint}}',
            },
            {
              expr: `watchpost_filesystem_alert_threshold_ratio{${M}}`,
              legend: '{{site}} {{host}} {{instance}} {{mountpoint}} threshold',
            },
          ],
        }),
        'threshold',
      ),
    )
    .withPanel(
      timeseriesPanel({
        id: 7,
        title: 'Free space predicted 24 hours ahead',
        description:
          'A linear fit of the last 6 hours of available space, projected one day ahead. Below zero means full within a day: DiskWillFillIn24Hours fires after an hour of that on a disk more than half full.',
        unit: 'bytes',
        steps: [
          [null, 'red'],
          [0, 'green'],
        ],
        queries: [
          {
            expr: `predict_linear(watchpost_filesystem_avail_bytes{${M}}[6h], 24 * 3600)`,
            legend: '{{site}} {{host}} {{instance}} {{mountpoint}} in 24 h',
          },
          {
            expr: `watchpost_filesystem_avail_bytes{${M}}`,
            legend: '{{site}} {{host}} {{instance}} {{mountpoint}} now',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 8,
        title: 'Folder sizes',
        description:
          'Total size of each folder configured under collectors.disk.directories, from its last background scan: what is filling the disk.',
        unit: 'bytes',
        min: 0,
        queries: [
          { expr: `watchpost_directory_size_bytes{${I}}`, legend: '{{site}} {{host}} {{instance}} {{path}}' },
        ],
      }),
    )
    .withRow(row(102, 'Network and temperatures'))
    .withPanel(
      timeseriesPanel({
        id: 10,
        title: 'Network traffic',
        description:
          'Bits per second received (positive) and sent (negative) on each interface the network collector reports (loopback and Docker bridges and veths are left out by default): camera bandwidth on a recorder, uplink saturation.',
        unit: 'bps',
        queries: [
          {
            expr: `rate(watchpost_network_receive_bytes_total{${I}}[$__rate_interval]) * 8`,
            legend: '{{site}} {{host}} {{instance}} {{device}} received',
          },
          {
            expr: `-rate(watchpost_network_transmit_bytes_total{${I}}[$__rate_interval]) * 8`,
            legend: '{{site}} {{host}} {{instance}} {{device}} sent',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 11,
        title: 'Network errors per packet',
        description:
          'Share of packets received or sent in error on each interface. NetworkInterfaceErrors fires above the red line (1%) for 15 minutes: a bad cable, port or duplex setting.',
        unit: 'percentunit',
        min: 0,
        width: 12,
        steps: [
          [null, 'green'],
          [ALERT_THRESHOLDS.NetworkInterfaceErrors, 'red'],
        ],
        queries: [
          {
            expr: `(rate(watchpost_network_receive_errors_total{${I}}[$__rate_interval]) + rate(watchpost_network_transmit_errors_total{${I}}[$__rate_interval])) / (rate(watchpost_network_receive_packets_total{${I}}[$__rate_interval]) + rate(watchpost_network_transmit_packets_total{${I}}[$__rate_interval]))`,
            legend: '{{site}} {{host}} {{instance}} {{device}}',
          },
        ],
      }),
    )
    .withPanel(
      tablePanel({
        id: 12,
        title: 'Network interfaces',
        description:
          'Every reported interface: whether it has a link, whether the configuration expects it (NetworkInterfaceDown fires when an expected one is down or missing), its negotiated speed, and its drops per second.',
        width: 12,
        queries: [
          { expr: `watchpost_network_link_up{${I}}` },
          { expr: `watchpost_network_interface_expected{${I}}` },
          { expr: `watchpost_network_speed_bytes{${I}} * 8` },
          {
            expr: `rate(watchpost_network_receive_drops_total{${I}}[5m]) + rate(watchpost_network_transmit_drops_total{${I}}[5m])`,
          },
        ],
        columns: [
          { ref: 'A', title: 'Link', unit: 'none', steps: UP_STEPS, mappings: upDownMapping() },
          { ref: 'B', title: 'Expected', unit: 'bool_yes_no' },
          { ref: 'C', title: 'Speed', unit: 'bps' },
          { ref: 'D', title: 'Drops', unit: 'pps' },
        ],
      }),
    )
    .withPanel(
      dashedSeries(
        timeseriesPanel({
          id: 13,
          title: 'Temperatures against their alert thresholds',
          description:
            "CPU and disk temperatures where the host has sensors (most virtual machines have none: then this panel is empty), each with its alert threshold as a dashed line (the configured one, the chip's own limit, or 90 °C for a CPU and 60 °C for a disk). HostTemperatureHigh fires when a sensor stays above its line for 10 minutes.",
          unit: 'celsius',
          queries: [
            {
              expr: `watchpost_temperature_celsius{${I}}`,
              legend: '{{site}} {{host}} {{instance}} {{chip}} {{sensor}}',
            },
            {
              expr: `watchpost_temperature_alert_threshold_celsius{${I}}`,
              legend: '{{site}} {{host}} {{instance}} {{chip}} {{sensor}} threshold',
            },
          ],
        }),
        'threshold',
      ),
    )
    .build();
}
