import { statSync } from 'node:fs';
import type { ComposeProject } from '../bootstrap/compose.js';
import { dangerousCapability } from './rules/dangerous-capability.js';
import { djangoAllowedHosts, djangoDebug } from './rules/django.js';
import { dockerSocketRo, dockerSocketRw } from './rules/docker-socket.js';
import { envFilePermissions } from './rules/env-file-permissions.js';
import { grafanaAnonymous, grafanaDefaultPassword } from './rules/grafana.js';
import { hostNamespace } from './rules/host-namespace.js';
import { imageLatest } from './rules/image-latest.js';
import { internalPortPublished } from './rules/internal-port-published.js';
import { noMemoryLimit, noPidsLimit } from './rules/limits.js';
import { noHealthcheck } from './rules/no-healthcheck.js';
import { noNewPrivileges } from './rules/no-new-privileges.js';
import { noRestartPolicy } from './rules/no-restart-policy.js';
import { portNoHostIp } from './rules/port-no-host-ip.js';
import { privileged } from './rules/privileged.js';
import { secretFilePermissions } from './rules/secret-file-permissions.js';
import { noUser, runsAsRoot } from './rules/user.js';
import { weakSecret } from './rules/weak-secret.js';
import type { AuditContext, Finding, Rule, Severity } from './types.js';

export type { Finding, Rule, Severity } from './types.js';

/** Every audit rule, in the order docs/check.md lists them. */
export const RULES: Rule[] = [
  weakSecret,
  envFilePermissions,
  secretFilePermissions,
  internalPortPublished,
  portNoHostIp,
  dockerSocketRw,
  dockerSocketRo,
  privileged,
  hostNamespace,
  dangerousCapability,
  noHealthcheck,
  noRestartPolicy,
  noMemoryLimit,
  noPidsLimit,
  runsAsRoot,
  noUser,
  noNewPrivileges,
  imageLatest,
  grafanaAnonymous,
  grafanaDefaultPassword,
  djangoDebug,
  djangoAllowedHosts,
];

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export const defaultAuditContext: AuditContext = {
  modeOf(path) {
    try {
      return statSync(path).mode & 0o777;
    } catch {
      return undefined;
    }
  },
};

/** Runs every rule on the project; findings sorted by file, line, severity and rule. */
export function audit(project: ComposeProject, ctx: AuditContext = defaultAuditContext): Finding[] {
  const findings: Finding[] = [];
  for (const rule of RULES) {
    for (const hit of rule.check(project, ctx)) {
      findings.push({
        severity: rule.severity,
        rule: rule.id,
        file: hit.pos.file,
        line: hit.pos.line,
        service: hit.service,
        message: hit.message,
      });
    }
  }
  return findings.sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      ORDER[a.severity] - ORDER[b.severity] ||
      a.rule.localeCompare(b.rule),
  );
}

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}
