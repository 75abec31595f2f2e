/**
 * What a streaming server reports about its streams, in one shape for every kind
 * (nginx-rtmp, MediaMTX), so one family set and one alert rule cover them all.
 */

export interface StreamStat {
  /** nginx-rtmp's application; '' for MediaMTX, whose paths have no application. */
  app: string;
  /** nginx-rtmp's stream name; MediaMTX's path name. */
  stream: string;
  /** A publisher is sending (nginx-rtmp: <publishing/>; MediaMTX: online, or ready before v1.17). */
  publishing: boolean;
  /** Clients reading the stream, publisher excluded. */
  readers: number;
  bytesIn: number;
  bytesOut: number;
  /** Seconds since the stream started; undefined when the server does not say. */
  uptimeSeconds?: number;
  /** Frames received with errors (MediaMTX's inboundFramesInError); undefined when not reported. */
  framesInError?: number;
}

export interface ServerStat {
  /** Seconds since the server started (nginx-rtmp's <uptime>); undefined when not reported. */
  uptimeSeconds?: number;
  /** The process that answered (nginx-rtmp's <pid>: one worker of possibly several). */
  pid?: number;
  /** Every application the page lists, also those with no stream (nginx-rtmp). */
  apps?: string[];
  streams: StreamStat[];
}
