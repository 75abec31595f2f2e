import type { WebhookPayload } from './payload.js';
import { parseDuration } from '../internal/duration.js';
import { isZeroTime, toWellFormed, type Alert } from './payload.js';

/**
 * Pure functions from an Alertmanager notification to what a person reads: a Slack Block
 * Kit message and an email (subject, text, HTML with the same content). Each alert says
 * what broke, where, since when, the value, and what to do (runbook, dashboard, silence);
 * a resolved one says how long it was broken. Limits are kept by truncating with a note.
 */

export interface RenderOptions {
  /** Silence links point here; the payload's externalURL when not set. */
  alertmanagerUrl?: string | undefined;
  runbookBaseUrl?: string | undefined;
  dashboardBaseUrl?: string | undefined;
}

export interface RenderContext extends RenderOptions {
  now: Date;
  /** What is true now: the current value of resolved alerts' expressions, by fingerprint. */
  current?: Record<string, string> | undefined;
}

/** Slack: https://api.slack.com/reference/block-kit/blocks */
export const SLACK_MAX_BLOCKS = 50;
export const SLACK_MAX_SECTION_TEXT = 3000;
export const SLACK_MAX_HEADER_TEXT = 150;

/** Labels that the message already shows elsewhere, or that only say which Prometheus job scraped. */
/** The labels that say where an alert comes from (docs/scaling.md): shown first, as "Where". */
const WHERE_LABELS = ['site', 'host'];

const HIDDEN_LABELS = new Set(['alertname', 'severity', 'job', 'prometheus', 'monitor', 'receive_cluster']);

export interface Link {
  label: string;
  url: string;
}

export interface AlertView {
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string;
  summary: string;
  description: string;
  value?: string;
  labels: [string, string][];
  /** "site paris · host recorder-1": where the alert comes from, when it carries those labels. */
  where?: string;
  startsAt: string;
  /** When the problem began (see problemStart); startsAt when the alert does not say. */
  since: string;
  /** "2h 5m": how long the problem has lasted, or lasted once resolved. */
  duration: string;
  /** A resolved alert's expression's value now, queried from Prometheus. */
  now?: string;
  endsAt?: string;
  links: Link[];
  /** A relative runbook path that could not be made a link (no runbook_base_url). */
  runbookPath?: string;
  /** A relative dashboard path that could not be made a link (no dashboard_base_url). */
  dashboardPath?: string;
}

export interface NotificationView {
  status: 'firing' | 'resolved';
  title: string;
  firing: AlertView[];
  resolved: AlertView[];
  truncatedAlerts: number;
}

/** "2h 5m", "3d 4h", "45s": the two largest units. */
export function humanizeDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return 'less than a second';
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
    if (parts.length === 1 && unit !== 's' && rest < 1000) break;
  }
  return parts.join(' ');
}

function isAbsoluteUrl(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
}

/** A runbook or dashboard annotation made absolute against its base, when relative. */
export function resolveUrl(url: string, base: string | undefined): string | undefined {
  if (isAbsoluteUrl(url)) return url;
  if (!base) return undefined;
  try {
    return new URL(url.replace(/^\/+/, ''), base.endsWith('/') ? base : `${base}/`).href;
  } catch {
    return undefined;
  }
}

/** Alertmanager's new-silence page with matchers for every label of the alert. */
export function silenceUrl(base: string, labels: Record<string, string>): string {
  const matchers = Object.entries(labels)
    .sort(([a], [b]) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a.localeCompare(b)))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');
  // toWellFormed: a lone surrogate (from an outbox written before payloads were cleaned) would
  // make encodeURIComponent throw "URI malformed".
  return `${base.replace(/\/+$/, '')}/#/silences/new?filter=${encodeURIComponent(toWellFormed(`{${matchers}}`))}`;
}

/**
 * When the problem began, which is earlier than Alertmanager's startsAt (when the alert fired)
 * by the rule's `for:`. The rules say so with annotations (docs/notifier.md, "Annotations the
 * alert rules set"): `started_at`, an RFC 3339 time the exporter knows (empty: unknown), used
 * when it is not after startsAt; else `for`, the rule's `for:` (the problem began that long
 * before startsAt); else startsAt.
 */
export function problemStart(alert: Alert): Date {
  const fired = new Date(alert.startsAt);
  const a = alert.annotations;
  const started = a.started_at?.trim();
  if (started) {
    const ms = Date.parse(started);
    if (Number.isFinite(ms) && ms > 0 && ms <= fired.getTime()) return new Date(ms);
  }
  const forText = a.for?.trim();
  if (forText) {
    const ms = parseDuration(forText);
    if (ms !== undefined) return new Date(fired.getTime() - ms);
  }
  return fired;
}

/**
 * When a resolved problem went away: an alert with `keep_firing_for` kept firing that long after
 * its condition stopped, so the problem ended about `endsAt` minus it (never before it began).
 */
export function problemEnd(alert: Alert, start: Date): Date | undefined {
  if (alert.status !== 'resolved' || isZeroTime(alert.endsAt)) return undefined;
  const ends = Date.parse(alert.endsAt);
  const keep = alert.annotations.keep_firing_for?.trim();
  const ms = keep ? parseDuration(keep) : undefined;
  return new Date(Math.max(start.getTime(), ms !== undefined ? ends - ms : ends));
}

function alertView(alert: Alert, payload: WebhookPayload, ctx: RenderContext): AlertView {
  const a = alert.annotations;
  const labels = alert.labels;
  const start = problemStart(alert);
  const resolved = alert.status === 'resolved';
  const end = problemEnd(alert, start);
  const summary = a.summary ?? a.message ?? labels.alertname ?? 'alert';
  const view: AlertView = {
    status: alert.status,
    alertname: labels.alertname ?? 'alert',
    severity: labels.severity ?? 'none',
    // The annotations were rendered when the alert fired: once resolved they describe the past.
    summary: resolved ? `No longer: ${summary}` : summary,
    description: resolved ? '' : (a.description ?? ''),
    since: start.getTime() === Date.parse(alert.startsAt) ? alert.startsAt : start.toISOString(),
    labels: Object.entries(labels)
      .filter(([k]) => !HIDDEN_LABELS.has(k) && !WHERE_LABELS.includes(k) && !k.startsWith('__'))
      .sort(([x], [y]) => x.localeCompare(y)),
    startsAt: alert.startsAt,
    duration: humanizeDuration((end ?? ctx.now).getTime() - start.getTime()),
    links: [],
  };
  const where = WHERE_LABELS.filter((k) => labels[k]).map((k) => `${k} ${labels[k]}`);
  if (where.length > 0) view.where = where.join(' · ');
  if (a.value !== undefined && a.value !== '') view.value = a.value;
  const now = resolved ? ctx.current?.[alert.fingerprint] : undefined;
  if (now !== undefined) view.now = now;
  if (end) view.endsAt = end.getTime() === Date.parse(alert.endsAt) ? alert.endsAt : end.toISOString();
  if (a.runbook_url) {
    const url = resolveUrl(a.runbook_url, ctx.runbookBaseUrl);
    if (url) view.links.push({ label: 'Runbook', url });
    else view.runbookPath = a.runbook_url;
  }
  if (a.dashboard_url) {
    const url = resolveUrl(a.dashboard_url, ctx.dashboardBaseUrl);
    if (url) view.links.push({ label: 'Dashboard', url });
    else view.dashboardPath = a.dashboard_url;
  }
  const amBase =
    ctx.alertmanagerUrl ?? (isAbsoluteUrl(payload.externalURL) ? payload.externalURL : undefined);
  // The notifier's own messages (the pipeline is silent) have no alert in Alertmanager to silence.
  const own = payload.groupKey.startsWith('watchpost-notifier/');
  if (!resolved && amBase && !own) view.links.push({ label: 'Silence', url: silenceUrl(amBase, labels) });
  if (alert.generatorURL && isAbsoluteUrl(alert.generatorURL) && !resolved)
    view.links.push({ label: 'Source', url: alert.generatorURL });
  return view;
}

const SEVERITY_ORDER = ['critical', 'warning', 'info'];

export function buildView(payload: WebhookPayload, ctx: RenderContext): NotificationView {
  const alerts = payload.alerts.map((a) => alertView(a, payload, ctx));
  const firing = alerts.filter((a) => a.status === 'firing');
  const resolved = alerts.filter((a) => a.status === 'resolved');
  const shown = firing.length > 0 ? firing : resolved;
  const severity =
    payload.commonLabels.severity ??
    SEVERITY_ORDER.find((s) => shown.some((a) => a.severity === s)) ??
    shown[0]?.severity ??
    '';
  const names = [...new Set(shown.map((a) => a.alertname))];
  const alertname =
    payload.groupLabels.alertname ??
    payload.commonLabels.alertname ??
    (names.length === 1 ? names[0]! : `${names.length} alerts`);
  const extra = Object.entries(payload.groupLabels)
    .filter(([k]) => k !== 'alertname' && k !== 'severity')
    .map(([k, v]) => `${k}=${v}`);
  const status = payload.status;
  const count = status === 'firing' ? firing.length : resolved.length;
  const title = [
    `[${status.toUpperCase()}:${count}]`,
    severity,
    alertname,
    ...(extra.length > 0 ? [`(${extra.join(', ')})`] : []),
  ]
    .filter(Boolean)
    .join(' ');
  return { status, title, firing, resolved, truncatedAlerts: payload.truncatedAlerts };
}

function truncate(text: string, max: number, note = '… (truncated)'): string {
  if (text.length <= max) return text;
  let cut = Math.max(0, max - note.length);
  // Never split a surrogate pair: half of one is a lone surrogate that Slack and mail reject.
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return text.slice(0, cut) + note;
}

// ---------------------------------------------------------------------------------------
// Slack

/** Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function slackLink(link: Link): string {
  const url = link.url.replace(/[<>| ]/g, (c) => encodeURIComponent(c));
  return `<${url}|${slackEscape(link.label)}>`;
}

const EMOJI = { firing: ':rotating_light:', resolved: ':white_check_mark:' } as const;

/** At most this share of a section goes to links; longer links are left out, the longest first. */
const SLACK_MAX_LINKS_TEXT = 1500;

/**
 * One alert as a section's mrkdwn text, never longer than Slack's 3000 characters (a longer
 * one makes Slack answer `invalid_blocks` and the whole message is lost). Links say what to
 * do, so they are kept before prose, but a link too long to fit (a generatorURL of several
 * KB) is left out with a note saying so; then the prose is cut with a note.
 */
export function slackAlertText(a: AlertView): string {
  const lines: string[] = [];
  lines.push(`${EMOJI[a.status]} *${slackEscape(a.alertname)}* · ${slackEscape(a.severity)}`);
  lines.push(`*${slackEscape(a.summary)}*`);
  if (a.where) lines.push(`*Where:* ${slackEscape(a.where)}`);
  if (a.description) lines.push(slackEscape(a.description));
  if (a.now !== undefined) lines.push(`*Value now:* ${slackEscape(a.now)}`);
  if (a.value !== undefined)
    lines.push(`*${a.status === 'firing' ? 'Value' : 'Value when it fired'}:* ${slackEscape(a.value)}`);
  if (a.status === 'firing') lines.push(`*Since:* ${a.duration} (${a.since})`);
  else lines.push(`*Resolved* after ${a.duration} (from ${a.since} to ${a.endsAt ?? 'now'})`);
  if (a.labels.length > 0) lines.push(a.labels.map(([k, v]) => `\`${slackEscape(`${k}=${v}`)}\``).join(' '));
  const links = a.links.map((l) => ({ label: l.label, text: slackLink(l) }));
  if (a.dashboardPath)
    links.unshift({ label: 'Dashboard', text: `Dashboard: ${slackEscape(a.dashboardPath)}` });
  if (a.runbookPath) links.unshift({ label: 'Runbook', text: `Runbook: ${slackEscape(a.runbookPath)}` });
  const dropped: string[] = [];
  const linksLength = () => links.reduce((n, l) => n + l.text.length + 3, 0);
  while (links.length > 0 && linksLength() > SLACK_MAX_LINKS_TEXT) {
    let longest = 0;
    links.forEach((l, i) => {
      if (l.text.length > links[longest]!.text.length) longest = i;
    });
    dropped.push(links.splice(longest, 1)[0]!.label);
  }
  const tailParts = links.map((l) => l.text);
  if (dropped.length > 0) tailParts.push(`_(${slackEscape(dropped.join(', '))}: link too long to show)_`);
  const tail = tailParts.length > 0 ? '\n' + tailParts.join(' · ') : '';
  return truncate(lines.join('\n'), SLACK_MAX_SECTION_TEXT - tail.length) + tail;
}

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

export function renderSlack(payload: WebhookPayload, ctx: RenderContext): SlackMessage {
  const view = buildView(payload, ctx);
  const emoji = view.status === 'firing' ? '🔥' : '✅';
  const blocks: Record<string, unknown>[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(`${emoji} ${view.title}`, SLACK_MAX_HEADER_TEXT),
        emoji: true,
      },
    },
  ];
  const alerts = [...view.firing, ...view.resolved];
  const notes: string[] = [];
  // One block is the header; one is kept for the note when anything is left out.
  const room =
    SLACK_MAX_BLOCKS - 1 - (alerts.length > SLACK_MAX_BLOCKS - 1 || view.truncatedAlerts > 0 ? 1 : 0);
  const shown = alerts.slice(0, room);
  for (const a of shown) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: slackAlertText(a) } });
  const left = alerts.length - shown.length + view.truncatedAlerts;
  if (left > 0) notes.push(`… and ${left} more alert${left === 1 ? '' : 's'}`);
  if (notes.length > 0)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(notes.join(' ')) }] });
  return { text: truncate(view.title, 3000), blocks };
}

// ---------------------------------------------------------------------------------------
// Email

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function textAlert(a: AlertView): string {
  const lines = [`* ${a.alertname} (${a.severity}): ${a.summary}`];
  if (a.where) lines.push(`  Where: ${a.where}`);
  if (a.description) lines.push(`  ${a.description.replace(/\n/g, '\n  ')}`);
  if (a.now !== undefined) lines.push(`  Value now: ${a.now}`);
  if (a.value !== undefined)
    lines.push(`  ${a.status === 'firing' ? 'Value' : 'Value when it fired'}: ${a.value}`);
  if (a.status === 'firing') lines.push(`  Since: ${a.duration} (${a.since})`);
  else lines.push(`  Resolved after ${a.duration} (from ${a.since} to ${a.endsAt ?? 'now'})`);
  if (a.labels.length > 0) lines.push(`  Labels: ${a.labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (a.runbookPath) lines.push(`  Runbook: ${a.runbookPath}`);
  if (a.dashboardPath) lines.push(`  Dashboard: ${a.dashboardPath}`);
  for (const l of a.links) lines.push(`  ${l.label}: ${l.url}`);
  return lines.join('\n');
}

function htmlAlert(a: AlertView): string {
  const rows: string[] = [];
  const color = a.status === 'resolved' ? '#2e7d32' : a.severity === 'critical' ? '#c62828' : '#ef6c00';
  rows.push(
    `<h3 style="margin:16px 0 4px;color:${color}">${escapeHtml(a.alertname)} (${escapeHtml(a.severity)}): ${escapeHtml(a.summary)}</h3>`,
  );
  if (a.description)
    rows.push(`<p style="margin:4px 0">${escapeHtml(a.description).replace(/\n/g, '<br>')}</p>`);
  const items: string[] = [];
  if (a.where) items.push(`<li>Where: ${escapeHtml(a.where)}</li>`);
  if (a.now !== undefined) items.push(`<li>Value now: ${escapeHtml(a.now)}</li>`);
  if (a.value !== undefined)
    items.push(`<li>${a.status === 'firing' ? 'Value' : 'Value when it fired'}: ${escapeHtml(a.value)}</li>`);
  if (a.status === 'firing') items.push(`<li>Since: ${escapeHtml(a.duration)} (${escapeHtml(a.since)})</li>`);
  else
    items.push(
      `<li>Resolved after ${escapeHtml(a.duration)} (from ${escapeHtml(a.since)} to ${escapeHtml(a.endsAt ?? 'now')})</li>`,
    );
  if (a.labels.length > 0)
    items.push(
      `<li>Labels: ${a.labels.map(([k, v]) => `<code>${escapeHtml(`${k}=${v}`)}</code>`).join(', ')}</li>`,
    );
  if (a.runbookPath) items.push(`<li>Runbook: ${escapeHtml(a.runbookPath)}</li>`);
  if (a.dashboardPath) items.push(`<li>Dashboard: ${escapeHtml(a.dashboardPath)}</li>`);
  for (const l of a.links)
    items.push(`<li>${escapeHtml(l.label)}: <a href="${escapeHtml(l.url)}">${escapeHtml(l.url)}</a></li>`);
  rows.push(`<ul style="margin:4px 0">${items.join('')}</ul>`);
  return rows.join('\n');
}

/** The plain-text rendering (email text part, log channel). */
export function renderText(payload: WebhookPayload, ctx: RenderContext): { subject: string; text: string } {
  const view = buildView(payload, ctx);
  const parts = [view.title, ''];
  if (view.firing.length > 0)
    parts.push(`FIRING (${view.firing.length})`, '', ...view.firing.map(textAlert), '');
  if (view.resolved.length > 0)
    parts.push(`RESOLVED (${view.resolved.length})`, '', ...view.resolved.map(textAlert), '');
  if (view.truncatedAlerts > 0)
    parts.push(`… and ${view.truncatedAlerts} more alerts (left out by Alertmanager)`, '');
  return { subject: view.title, text: parts.join('\n') };
}

export function renderEmail(payload: WebhookPayload, ctx: RenderContext): EmailMessage {
  const view = buildView(payload, ctx);
  const { text } = renderText(payload, ctx);
  const sections: string[] = [];
  if (view.firing.length > 0)
    sections.push(`<h2>Firing (${view.firing.length})</h2>`, ...view.firing.map(htmlAlert));
  if (view.resolved.length > 0)
    sections.push(`<h2>Resolved (${view.resolved.length})</h2>`, ...view.resolved.map(htmlAlert));
  if (view.truncatedAlerts > 0)
    sections.push(`<p>… and ${view.truncatedAlerts} more alerts (left out by Alertmanager)</p>`);
  const html = [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><title>' + escapeHtml(view.title) + '</title></head>',
    '<body style="font-family:sans-serif">',
    `<h1 style="font-size:18px">${escapeHtml(view.title)}</h1>`,
    ...sections,
    '</body></html>',
  ].join('\n');
  // An email subject has no hard limit, but mail clients cut near 78; keep it a line.
  return { subject: truncate(view.title.replace(/[\r\n]+/g, ' '), 200), text, html };
}
