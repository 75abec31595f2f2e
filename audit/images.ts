import type { ComposePort, ComposeService } from '../bootstrap/compose.js';
import { imageBase, notLongRunning } from '../bootstrap/detectors/types.js';

/**
 * Services that must never be reachable from outside the host: databases, caches, the
 * monitoring stack's own Prometheus and Alertmanager, MinIO, a Docker API, MediaMTX's API,
 * metrics and pprof ports.
 */
const INTERNAL_IMAGES: { test: RegExp; what: string }[] = [
  { test: /^(postgres|postgis|timescaledb|timescaledb-ha|pgvector|postgresql)$/, what: 'Postgres' },
  { test: /^(mysql|mariadb|percona|percona-server|mysql-server)$/, what: 'MySQL' },
  { test: /^(redis|redis-stack-server|valkey|keydb)$/, what: 'Redis' },
  { test: /^(mongo|mongodb|mongodb-community-server)$/, what: 'MongoDB' },
  { test: /^(memcached)$/, what: 'Memcached' },
  { test: /^(rabbitmq)$/, what: 'RabbitMQ' },
  { test: /^(elasticsearch|opensearch)$/, what: 'Elasticsearch' },
  { test: /^(minio)$/, what: 'MinIO' },
  { test: /^(prometheus)$/, what: 'Prometheus' },
  { test: /^(alertmanager)$/, what: 'Alertmanager' },
  { test: /^(pushgateway|node-exporter|cadvisor|loki)$/, what: 'a monitoring component' },
  { test: /^(docker|dind|docker-socket-proxy|socket-proxy)$/, what: 'a Docker API' },
];

const MEDIAMTX_INTERNAL: Record<number, string> = { 9997: 'API', 9998: 'metrics', 9999: 'pprof' };

/** What internal thing a published port exposes, or undefined when it is an ordinary port. */
export function internalExposure(svc: ComposeService, port: ComposePort): string | undefined {
  if (port.target === 2375 || port.target === 2376) return 'a Docker API';
  const base = imageBase(svc);
  if (base === 'mediamtx' || base === 'rtsp-simple-server') {
    const what = MEDIAMTX_INTERNAL[port.target];
    return what ? `MediaMTX's ${what}` : undefined;
  }
  return INTERNAL_IMAGES.find((i) => i.test.test(base))?.what;
}

/** Published on every interface of the host: no host address, or 0.0.0.0 / :: given. */
export function onAllInterfaces(port: ComposePort): boolean {
  return port.hostIp === undefined || port.hostIp === '0.0.0.0' || port.hostIp === '::';
}

export function isGrafana(svc: ComposeService): boolean {
  return /^grafana(-oss|-enterprise)?$/.test(imageBase(svc));
}

export function isDjango(svc: ComposeService): boolean {
  const cmd = [...(svc.entrypoint?.value ?? []), ...(svc.command?.value ?? [])].join(' ');
  return /manage\.py|django|\.wsgi/.test(cmd) || svc.environment.some((e) => e.key.startsWith('DJANGO_'));
}

export function envValue(svc: ComposeService, ...keys: string[]) {
  return svc.environment.find((e) => keys.includes(e.key) && e.value !== undefined);
}

export function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(true|1|yes|on)$/i.test(v.trim());
}

/** Kept running (not a one-shot job or a `restart: "no"` service); services behind a profile count. */
export function longRunning(
  svc: ComposeService,
  project: import('../bootstrap/compose.js').ComposeProject,
): boolean {
  const why = notLongRunning({ ...svc, profiles: [] }, project);
  return why === undefined;
}
