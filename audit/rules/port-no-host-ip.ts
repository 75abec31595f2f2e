import { internalExposure } from '../images.js';
import { perService, type Rule } from '../types.js';

export const portNoHostIp: Rule = {
  id: 'port-no-host-ip',
  severity: 'info',
  title: 'Published ports without a host address',
  rationale:
    "A port written without a host address is published on every interface, including public ones, and Docker's iptables rules bypass a host firewall such as ufw. Often that is intended (a web frontend); often it is an accident.",
  fix: 'Write the address it is meant for: "127.0.0.1:8080:80" behind a reverse proxy, or "0.0.0.0:443:443" when public on purpose (an explicit 0.0.0.0 is not reported).',
  check: perService((svc) =>
    svc.ports
      .filter((p) => p.hostIp === undefined && !internalExposure(svc, p))
      .map((p) => ({
        pos: p.pos,
        service: svc.name,
        message: `port "${p.text}" is published on all interfaces without a host address`,
      })),
  ),
};
