import { counter, gauge } from '../../metric-families.js';

export const authAttempts = counter(
  'watchpost_auth_attempts_total',
  'Authentication attempts found in the log of the source, by result (failure or success).',
  ['source', 'result'],
);
export const httpResponses = counter(
  'watchpost_http_responses_total',
  'HTTP responses found in the access log of the source, by status class (1xx to 5xx).',
  ['source', 'code_class'],
);
export const failuresByClient = counter(
  'watchpost_auth_failures_by_client_total',
  'Failed authentication attempts by client address, for at most max_clients clients per source (the least recently seen are evicted).',
  ['source', 'client'],
);
export const clientsEvicted = counter(
  'watchpost_auth_clients_evicted_total',
  'Clients whose failure series was dropped because the source had more than max_clients distinct clients.',
  ['source'],
);
export const lines = counter('watchpost_log_lines_total', 'Log lines read from the source.', ['source']);
export const bytes = counter('watchpost_log_bytes_total', 'Bytes read from the source.', ['source']);
export const truncated = counter(
  'watchpost_log_lines_truncated_total',
  'Log lines longer than max_line_bytes, cut to that length (the rest of the line is not read).',
  ['source'],
);
export const readErrors = counter(
  'watchpost_log_read_errors_total',
  'Failures to read the source, other than the file or container being absent (each distinct error once).',
  ['source'],
);
export const parseErrors = counter(
  'watchpost_log_parse_errors_total',
  'Log lines not in the format of the source (nginx and json formats).',
  ['source'],
);
export const up = gauge(
  'watchpost_log_source_up',
  'Whether the file or container of the source is being followed (1) or is missing or unreachable (0).',
  ['source'],
);

export const FAMILIES = [
  authAttempts,
  httpResponses,
  failuresByClient,
  clientsEvicted,
  lines,
  bytes,
  truncated,
  readErrors,
  parseErrors,
  up,
];
