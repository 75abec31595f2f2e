import type { ComposeProject, ComposeService, Pos } from '../bootstrap/compose.js';

export type Severity = 'error' | 'warning' | 'info';

/** One audit rule: a stable id, a severity, why it matters and how to fix it (docs/check.md lists them). */
export interface Rule {
  id: string;
  severity: Severity;
  /** One line: what the rule looks for. */
  title: string;
  rationale: string;
  fix: string;
  check(project: ComposeProject, ctx: AuditContext): RuleHit[];
}

export interface AuditContext {
  /** Reads a file's mode (permission bits); undefined when it does not exist. Injected for tests. */
  modeOf(path: string): number | undefined;
}

/** What a rule reports: where, which service, and what is wrong (never a secret's value). */
export interface RuleHit {
  pos: Pos;
  service: string | null;
  message: string;
}

/** A finding as `watchpost check --format json` prints it. */
export interface Finding {
  severity: Severity;
  rule: string;
  file: string;
  line: number;
  service: string | null;
  message: string;
}

/** A rule over each service; the helper most rules are written with. */
export function perService(
  fn: (svc: ComposeService, project: ComposeProject, ctx: AuditContext) => RuleHit[] | RuleHit | undefined,
): Rule['check'] {
  return (project, ctx) =>
    project.services.flatMap((svc) => {
      const r = fn(svc, project, ctx);
      return r === undefined ? [] : Array.isArray(r) ? r : [r];
    });
}
