import { perService, type Rule } from '../types.js';

export const noNewPrivileges: Rule = {
  id: 'no-new-privileges',
  severity: 'warning',
  title: 'no-new-privileges not set',
  rationale:
    'Without it a process in the container can gain privileges through setuid binaries (su, sudo, ping in some images) or file capabilities.',
  fix: 'Add `security_opt: ["no-new-privileges:true"]`.',
  check: perService((svc) =>
    svc.securityOpt.some((o) => /^no-new-privileges(([:=])true)?$/.test(o.value))
      ? undefined
      : { pos: svc.pos, service: svc.name, message: 'does not set no-new-privileges' },
  ),
};
