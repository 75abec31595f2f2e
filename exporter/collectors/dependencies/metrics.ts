import { gauge } from '../../metric-families.js';

export const up = gauge(
  'watchpost_dependency_up',
  'Whether the last probe of the dependency succeeded (1) or failed (0).',
  ['name', 'kind'],
);
export const duration = gauge(
  'watchpost_dependency_duration_seconds',
  'How long the last probe of the dependency took, in seconds, up to its probe timeout.',
  ['name'],
);
export const lastSuccess = gauge(
  'watchpost_dependency_last_success_timestamp_seconds',
  'Unix time in seconds of the last successful probe of the dependency since the exporter started; 0 before the first.',
  ['name'],
);
export const certExpiry = gauge(
  'watchpost_dependency_tls_cert_expiry_timestamp_seconds',
  "Unix time in seconds at which the dependency's TLS certificate expires (https and tcp with tls, when the handshake completed).",
  ['name'],
);
export const failureReason = gauge(
  'watchpost_dependency_failure_reason',
  'Set to 1 for the reason the last probe of the dependency failed (dns, connect, tls, timeout, status or body); absent while it is up.',
  ['name', 'reason'],
);
export const statusCode = gauge(
  'watchpost_dependency_status_code',
  'HTTP status code of the last response of the dependency (http and https, when a response arrived).',
  ['name'],
);
export const slowThreshold = gauge(
  'watchpost_dependency_slow_threshold_seconds',
  'Probe duration in seconds above which the dependency counts as slow, from the watchpost configuration.',
  ['name'],
);

export const FAMILIES = [up, duration, lastSuccess, certExpiry, failureReason, statusCode, slowThreshold];
