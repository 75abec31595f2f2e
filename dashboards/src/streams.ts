// Streams: is every camera publishing, who watches, at what bitrate, and are the FFmpeg jobs running?
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
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

export function streamsDashboard(): dashboard.Dashboard {
  const S = `${I}, server=~"$server"`;
  return base(
    'streams',
    'nginx-rtmp and MediaMTX streams per server, app and stream: publishing, readers, bitrate, uptime; expected streams missing; FFmpeg groups.',
  )
    .withVariable(siteVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'server',
        'Server',
        'label_values(watchpost_stream_server_up{site=~"$site", host=~"$host", instance=~"$instance"}, server)',
        'Streaming servers to show.',
      ),
    )
    .withRow(row(100, 'Streams'))
    .withPanel(
      tablePanel({
        id: 1,
        title: 'Streams',
        description:
          'Every stream the servers list: whether a publisher sends it, how many clients read it, its incoming bitrate and how long it has been up.',
        hide: ['instance'],
        sortBy: 'Bitrate in',
        queries: [
          { expr: `watchpost_stream_publishing{${S}}` },
          { expr: `watchpost_stream_readers{${S}}` },
          { expr: `rate(watchpost_stream_bytes_in_total{${S}}[1m]) * 8` },
          { expr: `watchpost_stream_uptime_seconds{${S}}` },
        ],
        columns: [
          {
            ref: 'A',
            title: 'Publishing',
            unit: 'none',
            steps: UP_STEPS,
            mappings: upDownMapping('No', 'Yes'),
          },
          { ref: 'B', title: 'Readers', unit: 'none' },
          { ref: 'C', title: 'Bitrate in', unit: 'bps' },
          { ref: 'D', title: 'Up for', unit: 'dtdurations' },
        ],
      }),
    )
    .withPanel(
      tablePanel({
        id: 2,
        title: 'Expected streams not publishing',
        description:
          'Streams the configuration expects (collectors.streams.expected) that no publisher sends now: ExpectedStreamNotPublishing. Empty is good. A server that cannot be reached is reported once under Stream servers instead.',
        width: 12,
        hide: ['instance'],
        queries: [
          {
            expr: `watchpost_stream_expected{${S}} == 1 unless on(site, host, instance, server, app, stream) watchpost_stream_publishing{${S}} == 1`,
          },
        ],
        columns: [
          {
            ref: 'A',
            title: 'Missing',
            unit: 'none',
            steps: PROBLEM_STEPS,
            mappings: upDownMapping('', 'Missing'),
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        id: 3,
        title: 'Stream servers',
        description:
          'Whether each streaming server answered its statistics (nginx-rtmp stat page, MediaMTX API) at the last fetch. StreamServerUnreachable fires after 1 minute down.',
        unit: 'none',
        width: 12,
        steps: UP_STEPS,
        mappings: upDownMapping(),
        queries: [
          { expr: `watchpost_stream_server_up{${S}}`, legend: '{{site}} {{host}} {{server}} ({{kind}})' },
        ],
      }),
    )
    .withPanel(
      dashedSeries(
        timeseriesPanel({
          id: 4,
          title: 'Publishing streams against the server limit',
          description:
            'Streams publishing on each server, with the max_streams the server is sized for as a dashed line. TooManyStreams fires above it for 5 minutes.',
          unit: 'short',
          min: 0,
          queries: [
            {
              expr: `sum by (site, host, instance, server) (watchpost_stream_app_publishing_streams{${S}})`,
              legend: '{{site}} {{host}} {{server}}',
            },
            { expr: `watchpost_stream_max_publishing{${S}}`, legend: '{{site}} {{host}} {{server}} limit' },
          ],
        }),
        'limit',
      ),
    )
    .withPanel(
      dashedSeries(
        timeseriesPanel({
          id: 5,
          title: 'FFmpeg groups: running against expected',
          description:
            'FFmpeg processes running in each configured group (collectors.ffmpeg.groups), with the expected count as a dashed line. FfmpegProcessesMissing fires below it for 1 minute.',
          unit: 'short',
          min: 0,
          queries: [
            { expr: `watchpost_ffmpeg_processes{${I}}`, legend: '{{site}} {{host}} {{group}}' },
            {
              expr: `watchpost_ffmpeg_expected_processes{${I}}`,
              legend: '{{site}} {{host}} {{group}} expected',
            },
          ],
        }),
        'expected',
      ),
    )
    .withRow(row(101, 'Traffic'))
    .withPanel(
      timeseriesPanel({
        id: 6,
        title: 'Bitrate',
        description: 'Bits per second received from each publisher (in) and sent to its readers (out).',
        unit: 'bps',
        min: 0,
        queries: [
          {
            expr: `rate(watchpost_stream_bytes_in_total{${S}}[$__rate_interval]) * 8`,
            legend: '{{site}} {{host}} {{server}} {{app}}/{{stream}} in',
          },
          {
            expr: `rate(watchpost_stream_bytes_out_total{${S}}[$__rate_interval]) * 8`,
            legend: '{{site}} {{host}} {{server}} {{app}}/{{stream}} out',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 7,
        title: 'Readers',
        description: 'Clients reading each stream, the publisher excluded.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `watchpost_stream_readers{${S}}`,
            legend: '{{site}} {{host}} {{server}} {{app}}/{{stream}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 8,
        title: 'FFmpeg CPU per group',
        description:
          'CPU used by the running processes of each FFmpeg group: 1 = one full core. deriv(), not rate(): the gauge drops when a process exits.',
        unit: 'percentunit',
        min: 0,
        queries: [
          {
            expr: `deriv(watchpost_ffmpeg_cpu_seconds{${I}}[$__rate_interval])`,
            legend: '{{site}} {{host}} {{group}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: 9,
        title: 'nginx-rtmp workers answering',
        description:
          'Distinct nginx worker processes seen answering the stat page in the last 5 minutes. Above 1 each page shows one worker, so the stream figures are merged and partial: StreamServerStatsPartial fires above 1 for 5 minutes (set worker_processes 1).',
        unit: 'short',
        min: 0,
        queries: [
          { expr: `watchpost_stream_server_workers_seen{${S}}`, legend: '{{site}} {{host}} {{server}}' },
        ],
      }),
    )
    .build();
}
