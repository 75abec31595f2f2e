import { formatDuration } from '../internal/duration.js';
import { redact } from '../internal/secret.js';
import type { CollectorStatus } from './scheduler.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function ago(date: Date | undefined, now: Date): string {
  if (!date) return 'never';
  return `${formatDuration(now.getTime() - date.getTime())} ago`;
}

/**
 * GET / : what an operator opening the exporter in a browser wants to know first —
 * is every collector working, when did it last run, and if not, why not.
 */
export function renderStatusPage(
  statuses: CollectorStatus[],
  version: string,
  now = new Date(),
  opts: { showErrors?: boolean } = {},
): string {
  const showErrors = opts.showErrors ?? true;
  const errorText = (s: CollectorStatus) =>
    s.lastError === undefined
      ? ''
      : showErrors
        ? redact(s.lastError)
        : 'hidden: send the bearer token (Authorization: Bearer …) to see it, or read the exporter log';
  const rows = statuses
    .map((s) => {
      const state = s.success === undefined ? 'pending' : s.success ? 'ok' : 'failed';
      return `<tr class="${state}"><td>${escapeHtml(s.name)}</td><td>${state}</td>
<td>${escapeHtml(ago(s.lastRunAt, now))}</td>
<td>${s.lastDurationMs === undefined ? '' : `${(s.lastDurationMs / 1000).toFixed(3)}s`}</td>
<td>${formatDuration(s.intervalMs)} / ${formatDuration(s.timeoutMs)}</td>
<td>${escapeHtml(ago(s.lastSuccessAt, now))}</td>
<td>${s.runs} / ${s.failures}</td>
<td class="err">${escapeHtml(errorText(s))}</td></tr>`;
    })
    .join('\n');
  const failing = statuses.filter((s) => s.success === false).length;
  const notes = statuses.flatMap((s) =>
    (s.notes ?? []).map((n) => `<li>${escapeHtml(s.name)}: ${escapeHtml(n)}</li>`),
  );
  const notesHtml =
    notes.length > 0 ? `<h2>Warnings</h2>\n<ul class="notes">\n${notes.join('\n')}\n</ul>\n` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>watchpost exporter</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
tr.ok td:nth-child(2){color:#17692a}tr.failed td:nth-child(2){color:#b00020;font-weight:bold}tr.pending td:nth-child(2){color:#8a6d00}
td.err{font-family:monospace;max-width:40em;word-break:break-word}
</style></head><body>
<h1>watchpost exporter</h1>
<p>Version ${escapeHtml(version)}. ${statuses.length} collectors, ${failing} failing.
Metrics: <a href="metrics">/metrics</a> · health: <a href="-/healthy">/-/healthy</a> · readiness: <a href="-/ready">/-/ready</a></p>
<table><thead><tr><th>collector</th><th>state</th><th>last run</th><th>duration</th><th>interval / timeout</th><th>last success</th><th>runs / failures</th><th>last error</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${notesHtml}</body></html>
`;
}
