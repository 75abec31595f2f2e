import { perService, type Rule } from '../types.js';

export const noMemoryLimit: Rule = {
  id: 'no-memory-limit',
  severity: 'warning',
  title: 'No memory limit',
  rationale:
    "A service without a memory limit that leaks or is flooded takes the host's memory, and the kernel's OOM killer then picks a victim among all services — often the database.",
  fix: "Add `mem_limit: 512m` (or `deploy.resources.limits.memory`) sized from its normal use plus headroom; watchpost's ContainerOomKilled alert then names the service that hit it.",
  check: perService((svc) =>
    svc.memLimit ? undefined : { pos: svc.pos, service: svc.name, message: 'has no memory limit' },
  ),
};

export const noPidsLimit: Rule = {
  id: 'no-pids-limit',
  severity: 'info',
  title: 'No pids limit',
  rationale:
    "Without a pids limit a fork bomb or a runaway worker pool in one container exhausts the host's process table.",
  fix: "Add `pids_limit: 200` (or `deploy.resources.limits.pids`), well above the service's normal thread and process count.",
  check: perService((svc) =>
    svc.pidsLimit ? undefined : { pos: svc.pos, service: svc.name, message: 'has no pids limit' },
  ),
};
