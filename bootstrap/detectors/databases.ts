import { containerPorts, imageBase, type Detector } from './types.js';

/**
 * Databases and caches as TCP probes on their port (a refused or hung connection is
 * DependencyDown with the reason): Postgres, MySQL/MariaDB, Redis/Valkey/KeyDB, MongoDB,
 * RabbitMQ, Memcached. A TCP connect needs no credentials, so nothing secret is involved.
 */
const KINDS: { test: RegExp; what: string; port: number }[] = [
  {
    test: /^(postgres|postgis|timescaledb|timescaledb-ha|pgvector|postgresql)$/,
    what: 'Postgres',
    port: 5432,
  },
  { test: /^(mysql|mariadb|percona|percona-server|mysql-server)$/, what: 'MySQL', port: 3306 },
  { test: /^(redis|redis-stack-server|valkey|keydb)$/, what: 'Redis', port: 6379 },
  { test: /^(mongo|mongodb|mongodb-community-server)$/, what: 'MongoDB', port: 27017 },
  { test: /^rabbitmq$/, what: 'RabbitMQ', port: 5672 },
  { test: /^memcached$/, what: 'Memcached', port: 11211 },
];

export function databaseKind(base: string): { what: string; port: number } | undefined {
  return KINDS.find((k) => k.test.test(base));
}

export const detectDatabase: Detector = (svc) => {
  const kind = databaseKind(imageBase(svc));
  if (!kind) return [];
  const ports = containerPorts(svc);
  // The image's port, unless the service only declares another one.
  const port = ports.length === 1 ? ports[0]! : kind.port;
  return [
    {
      section: 'dependencies.targets',
      service: svc.name,
      pos: svc.image?.pos ?? svc.pos,
      comment: [`${kind.what} (${svc.image!.value}): a TCP connection to its port`],
      item: { name: svc.name, kind: 'tcp', address: `${svc.name}:${port}` },
    },
  ];
};
