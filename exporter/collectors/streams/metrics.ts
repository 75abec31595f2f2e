import { counter, gauge } from '../../metric-families.js';

const STREAM = ['server', 'app', 'stream'] as const;

export const serverUp = gauge(
  'watchpost_stream_server_up',
  'Whether the last fetch of the streaming server statistics (nginx-rtmp stat page, MediaMTX API) answered and parsed (1) or not (0).',
  ['server', 'kind'],
);
export const failureReason = gauge(
  'watchpost_stream_server_failure_reason',
  'Set to 1 for the reason the last fetch of the streaming server statistics failed (dns, connect, tls, timeout, status, auth, too_large or invalid); absent while it is up.',
  ['server', 'reason'],
);
export const fetchDuration = gauge(
  'watchpost_stream_server_fetch_duration_seconds',
  'Time the last fetch of the streaming server statistics took, in seconds, including failed fetches.',
  ['server'],
);
export const serverUptime = gauge(
  'watchpost_stream_server_uptime_seconds',
  'Seconds since the streaming server started, as nginx-rtmp reports it; absent for MediaMTX.',
  ['server'],
);
export const seriesDropped = gauge(
  'watchpost_stream_series_dropped',
  'Number of streams of the server left out of the per-stream metrics in the last fetch because the server had more than the cap of stream series.',
  ['server'],
);
export const maxPublishing = gauge(
  'watchpost_stream_max_publishing',
  'Number of publishing streams above which the too-many-streams alert fires for the server, from the watchpost configuration (max_streams).',
  ['server'],
);
export const publishing = gauge(
  'watchpost_stream_publishing',
  'Whether a publisher is sending the stream (1) or the server lists it without one (0); absent when the server does not list the stream.',
  STREAM,
);
export const readers = gauge(
  'watchpost_stream_readers',
  'Number of clients reading the stream, the publisher excluded.',
  STREAM,
);
export const bytesIn = counter(
  'watchpost_stream_bytes_in_total',
  'Bytes the server received for the stream since the stream started.',
  STREAM,
);
export const bytesOut = counter(
  'watchpost_stream_bytes_out_total',
  'Bytes the server sent to readers of the stream since the stream started.',
  STREAM,
);
export const streamUptime = gauge(
  'watchpost_stream_uptime_seconds',
  'Seconds since the stream started (nginx-rtmp) or came online (MediaMTX).',
  STREAM,
);
export const framesInError = counter(
  'watchpost_stream_frames_in_error_total',
  'Frames of the stream that MediaMTX received with errors and could not process; MediaMTX 1.15 and later only.',
  STREAM,
);
export const streamExpected = gauge(
  'watchpost_stream_expected',
  'Always 1 for each stream that the watchpost configuration expects to be publishing.',
  STREAM,
);
export const appPublishing = gauge(
  'watchpost_stream_app_publishing_streams',
  'Number of streams publishing on the server, per application (app is empty for MediaMTX), counted before the series cap; 0 for an application with none.',
  ['server', 'app'],
);
/** The name watchpost_stream_app_publishing_streams had until 0.1; served beside it for one release. */
export const appPublishingDeprecated = gauge(
  'watchpost_streams_publishing',
  'Deprecated, removed in the next release: the same as watchpost_stream_app_publishing_streams.',
  ['server', 'app'],
);
export const workersSeen = gauge(
  'watchpost_stream_server_workers_seen',
  'Number of distinct nginx worker processes (<pid> of the stat page) seen answering in the last 5 minutes; above 1 each page shows one worker and the stats are partial (merged across workers).',
  ['server'],
);

export const FAMILIES = [
  serverUp,
  failureReason,
  fetchDuration,
  serverUptime,
  seriesDropped,
  maxPublishing,
  publishing,
  readers,
  bytesIn,
  bytesOut,
  streamUptime,
  framesInError,
  streamExpected,
  appPublishing,
  workersSeen,
  appPublishingDeprecated,
];
