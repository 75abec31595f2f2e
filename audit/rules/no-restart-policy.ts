import { longRunning } from '../images.js';
import { perService, type Rule } from '../types.js';

export const noRestartPolicy: Rule = {
  id: 'no-restart-policy',
  severity: 'warning',
  title: 'No restart policy on a long-running service',
  rationale:
    'Compose\'s default is `restart: "no"`: a service that crashes, is OOM-killed, or was running when the host rebooted stays down until someone notices.',
  fix: 'Add `restart: unless-stopped` (or `always`).',
  check: perService((svc, project) => {
    if (!longRunning(svc, project) || svc.restart || svc.deployRestart) return undefined;
    return { pos: svc.pos, service: svc.name, message: 'has no restart policy (compose\'s default is "no")' };
  }),
};
