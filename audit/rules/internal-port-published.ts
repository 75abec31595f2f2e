import { internalExposure, onAllInterfaces } from '../images.js';
import { perService, type Rule } from '../types.js';

export const internalPortPublished: Rule = {
  id: 'internal-port-published',
  severity: 'error',
  title: 'Internal services published on all interfaces',
  rationale:
    "Databases, Redis, MinIO, Prometheus, Alertmanager, a Docker API and MediaMTX's API/metrics are meant for the containers next to them. Published without a host address they listen on every interface of the host, and Docker's iptables rules bypass a host firewall such as ufw: they are on the internet.",
  fix: 'Remove the `ports:` entry (containers reach the service by name on the compose network), or publish it on loopback only: "127.0.0.1:5432:5432".',
  check: perService((svc) =>
    svc.ports.flatMap((p) => {
      const what = internalExposure(svc, p);
      if (!what || !onAllInterfaces(p)) return [];
      return [
        {
          pos: p.pos,
          service: svc.name,
          message: `${what} (container port ${p.target}) is published on all interfaces ("${p.text}")`,
        },
      ];
    }),
  ),
};
