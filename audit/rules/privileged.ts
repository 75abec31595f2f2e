import { perService, type Rule } from '../types.js';

export const privileged: Rule = {
  id: 'privileged',
  severity: 'error',
  title: 'privileged: true',
  rationale:
    'A privileged container has every capability, every device and no seccomp or AppArmor confinement: escaping it to the host is trivial.',
  fix: 'Remove `privileged: true`; grant only what the service needs (`devices:` for a camera or GPU, one `cap_add:` entry).',
  check: perService((svc) =>
    svc.privileged?.value
      ? { pos: svc.privileged.pos, service: svc.name, message: 'runs privileged: full access to the host' }
      : undefined,
  ),
};
