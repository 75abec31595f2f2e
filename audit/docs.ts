import { RULES } from './index.js';

export const RULES_BEGIN =
  '<!-- rules: generated from audit/rules/ by `npm run gen:goldens`; a test keeps this part equal -->';
export const RULES_END = '<!-- end of rules -->';

/** The rule reference of docs/check.md: every rule with its id, severity, rationale and fix. */
export function renderRulesDoc(): string {
  const lines = ['| Rule | Severity | Looks for |', '| --- | --- | --- |'];
  for (const r of RULES) lines.push(`| [\`${r.id}\`](#${r.id}) | ${r.severity} | ${r.title} |`);
  for (const r of RULES) {
    lines.push(
      '',
      `### ${r.id}`,
      '',
      `**${r.severity}** — ${r.title}.`,
      '',
      `Why: ${r.rationale}`,
      '',
      `Fix: ${r.fix}`,
    );
  }
  return lines.join('\n');
}

/** Replaces the generated part of docs/check.md's text. */
export function withRulesDoc(markdown: string): string {
  const start = markdown.indexOf(RULES_BEGIN);
  const end = markdown.indexOf(RULES_END);
  if (start === -1 || end === -1) throw new Error('docs/check.md lacks the rule markers');
  return `${markdown.slice(0, start + RULES_BEGIN.length)}\n${renderRulesDoc()}\n${markdown.slice(end)}`;
}
