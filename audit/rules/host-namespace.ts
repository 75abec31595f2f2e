import { perService, type Rule, type RuleHit } from '../types.js';

export const hostNamespace: Rule = {
  id: 'host-namespace',
  severity: 'warning',
  title: "The host's network, PID or IPC namespace",
  rationale:
    "With the host's network a container's ports bypass Docker's port mapping and it reaches every service listening on the host's loopback; with the host's PID namespace it sees (and, as root, signals and traces) every process of the host; with its IPC namespace it shares memory with them.",
  fix: "Remove `network_mode: host` / `pid: host` / `ipc: host` unless the service needs it (a metrics agent reading the host's processes), and then run it as non-root with `cap_drop: [ALL]`.",
  check: perService((svc) => {
    const hits: RuleHit[] = [];
    for (const [what, v] of [
      ['network', svc.networkMode],
      ['PID', svc.pid],
      ['IPC', svc.ipc],
    ] as const) {
      if (v?.value === 'host')
        hits.push({ pos: v.pos, service: svc.name, message: `shares the host's ${what} namespace` });
    }
    return hits;
  }),
};
