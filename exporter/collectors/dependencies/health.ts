/** One dependency in the answer of GET /health/deep. */
export interface DependencyHealth {
  name: string;
  kind: string;
  up: boolean;
  reason: string | null;
  message: string;
  durationSeconds: number;
  /** ISO 8601 time of the last successful probe since the exporter started, or null. */
  lastSuccess: string | null;
  /** ISO 8601 expiry of the TLS certificate seen by the last probe, or null. */
  certExpiry: string | null;
}

/** The answer of GET /health/deep: 200 when every dependency is up, 503 otherwise. */
export interface DeepHealth {
  status: 'up' | 'down';
  /** ISO 8601 time of the check the answer reports; null before the first. */
  checkedAt: string | null;
  message?: string;
  dependencies: DependencyHealth[];
}
