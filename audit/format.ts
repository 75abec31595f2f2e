import { ruleById, type Finding } from './index.js';

/** `--format json`: exactly { ok, findings: [{ severity, rule, file, line, service, message }] }. */
export function formatJson(findings: Finding[]): string {
  const ok = !findings.some((f) => f.severity === 'error');
  const clean = findings.map(({ severity, rule, file, line, service, message }) => ({
    severity,
    rule,
    file,
    line,
    service,
    message,
  }));
  return `${JSON.stringify({ ok, findings: clean }, null, 2)}\n`;
}

const COLOURS = {
  error: '\x1b[31m',
  warning: '\x1b[33m',
  info: '\x1b[36m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  reset: '\x1b[0m',
};

/**
 * Text: findings grouped by service (project-wide ones — .env, secret files — first), each
 * with file:line, rule id, what is wrong, why it matters and how to fix it. Coloured by
 * severity only when `colour` (a terminal, and NO_COLOR unset).
 */
export function formatText(findings: Finding[], opts: { colour: boolean; title: string }): string {
  const c = (code: keyof typeof COLOURS, text: string) =>
    opts.colour ? `${COLOURS[code]}${text}${COLOURS.reset}` : text;
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const lines: string[] = [];
  const summary = `${count('error')} error${count('error') === 1 ? '' : 's'}, ${count('warning')} warning${count('warning') === 1 ? '' : 's'}, ${count('info')} info`;
  lines.push(`${c('bold', opts.title)}: ${findings.length === 0 ? 'no findings' : summary}`);
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = f.service ?? '';
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const keys = [...groups.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : 0));
  const explained = new Set<string>();
  for (const key of keys) {
    lines.push('', c('bold', key === '' ? 'project files' : `service ${key}`));
    for (const f of groups.get(key)!) {
      const rule = ruleById(f.rule);
      lines.push(
        `  ${c(f.severity, f.severity.padEnd(7))} ${f.file}:${f.line}  ${f.message}  ${c('dim', `[${f.rule}]`)}`,
      );
      if (rule && !explained.has(rule.id)) {
        explained.add(rule.id);
        lines.push(`          ${c('dim', 'why:')} ${rule.rationale}`);
        lines.push(`          ${c('dim', 'fix:')} ${rule.fix}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
