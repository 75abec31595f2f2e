import { containerPorts, imageBase, notLongRunning, type Detector } from './types.js';

/**
 * HTTP services as dependency probes: a service whose healthcheck requests a URL is probed
 * on the same port and path (from the exporter, by service name); otherwise a service that
 * listens on a usual web port is probed at "/". Run after the more specific detectors:
 * a service they recognised (a database, MinIO, a stream server, FFmpeg, a backup job) is
 * not probed again here.
 */
const WEB_PORTS = [80, 8000, 8080, 3000, 5000, 8081, 8082, 8888, 4000, 3001, 5678, 8069, 9000];

/** Well-known web applications whose "/" redirects to a login: their health endpoint instead. */
const KNOWN: { test: RegExp; port: number; path: string; what: string }[] = [
  { test: /^grafana(-oss|-enterprise)?$/, port: 3000, path: '/api/health', what: 'Grafana' },
  { test: /^prometheus$/, port: 9090, path: '/-/healthy', what: 'Prometheus' },
  { test: /^alertmanager$/, port: 9093, path: '/-/healthy', what: 'Alertmanager' },
  { test: /^metabase$/, port: 3000, path: '/api/health', what: 'Metabase' },
  { test: /^nocodb$/, port: 8080, path: '/api/v1/health', what: 'NocoDB' },
];

export const detectHttp: Detector = (svc, { project }) => {
  if (notLongRunning(svc, project)) return [];
  const test =
    svc.healthcheck && !svc.healthcheck.disable ? (svc.healthcheck.test?.value ?? []).join(' ') : '';
  const m =
    /\bhttps?:\/\/(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|[A-Za-z0-9_.-]+)(?::(\d+))?(\/[^\s'"`)]*)?/.exec(
      test,
    );
  if (m) {
    const scheme = m[0].startsWith('https') ? 'https' : 'http';
    const port = m[1] ? Number(m[1]) : scheme === 'https' ? 443 : 80;
    const path = m[2] ?? '/';
    return [
      {
        section: 'dependencies.targets',
        service: svc.name,
        pos: svc.healthcheck!.test!.pos,
        comment: ["HTTP: the URL its own healthcheck requests, from the exporter's side"],
        item: { name: svc.name, kind: scheme, url: `${scheme}://${svc.name}:${port}${path}` },
      },
    ];
  }
  const known = KNOWN.find((k) => k.test.test(imageBase(svc)));
  if (known) {
    return [
      {
        section: 'dependencies.targets',
        service: svc.name,
        pos: svc.image!.pos,
        comment: [`${known.what} (${svc.image!.value}): its health endpoint`],
        item: { name: svc.name, kind: 'http', url: `http://${svc.name}:${known.port}${known.path}` },
      },
    ];
  }
  const port = containerPorts(svc).find((p) => WEB_PORTS.includes(p));
  if (port === undefined) return [];
  const from = svc.ports.find((p) => p.target === port)?.pos ?? svc.expose.find((e) => e.value === port)?.pos;
  return [
    {
      section: 'dependencies.targets',
      service: svc.name,
      pos: from ?? svc.pos,
      comment: [
        `HTTP on port ${port} (no healthcheck URL to copy): any 2xx answer to "/" counts as up;`,
        'set valid_status (e.g. [200, 302]) or a health path if "/" redirects or needs a login',
      ],
      item: { name: svc.name, kind: 'http', url: `http://${svc.name}:${port}/` },
    },
  ];
};
