import { perService, type Rule } from '../types.js';

const DANGEROUS = new Set([
  'ALL', 'SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'SYS_MODULE', 'SYS_RAWIO', 'DAC_READ_SEARCH',
  'SYS_BOOT', 'SYS_TIME', 'MAC_ADMIN', 'MAC_OVERRIDE', 'BPF', 'PERFMON', 'SYSLOG',
]); // prettier-ignore

export const dangerousCapability: Rule = {
  id: 'dangerous-capability',
  severity: 'error',
  title: 'Dangerous capabilities added (cap_add)',
  rationale:
    "SYS_ADMIN is nearly root on the host (mounts, namespaces); SYS_PTRACE reads other processes' memory; NET_ADMIN reconfigures the network; SYS_MODULE loads kernel code; DAC_READ_SEARCH reads any file; ALL is privileged mode by another name.",
  fix: 'Remove the capability, or replace it by the narrow one the service needs (NET_BIND_SERVICE to bind ports below 1024), with `cap_drop: [ALL]` first.',
  check: perService((svc) =>
    svc.capAdd
      .filter((c) => DANGEROUS.has(c.value.toUpperCase().replace(/^CAP_/, '')))
      .map((c) => ({ pos: c.pos, service: svc.name, message: `adds the capability ${c.value}` })),
  ),
};
