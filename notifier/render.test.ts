import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolvedPayload, samplePayload } from './fixtures/fakes.js';
import type { Alert } from './payload.js';
import {
  humanizeDuration,
  renderEmail,
  renderText,
  renderSlack,
  resolveUrl,
  silenceUrl,
  SLACK_MAX_BLOCKS,
  SLACK_MAX_SECTION_TEXT,
} from './render.js';

const ctx = {
  now: new Date('2026-11-22T05:05:00Z'),
  runbookBaseUrl: 'https://github.com/acme/watchpost/blob/main',
  dashboardBaseUrl: 'http://grafana.example:3000',
  alertmanagerUrl: 'http://am.example:9093',
};

test('humanizes durations with the two largest units', () => {
  assert.equal(humanizeDuration(2 * 3600_000 + 5 * 60_000 + 7000), '2h 5m');
  assert.equal(humanizeDuration(45_000), '45s');
  assert.equal(humanizeDuration(3 * 86_400_000 + 4 * 3600_000), '3d 4h');
  assert.equal(humanizeDuration(60_000), '1m');
});

test('resolves relative runbook and dashboard links; builds a prefilled silence link', () => {
  assert.equal(
    resolveUrl('docs/runbooks/DiskSpaceLow.md', 'https://x.example/blob/main'),
    'https://x.example/blob/main/docs/runbooks/DiskSpaceLow.md',
  );
  assert.equal(resolveUrl('https://abs.example/r', undefined), 'https://abs.example/r');
  assert.equal(resolveUrl('docs/runbooks/X.md', undefined), undefined);
  assert.equal(
    silenceUrl('http://am:9093/', { alertname: 'X', a: 'b"c' }),
    'http://am:9093/#/silences/new?filter=%7Balertname%3D%22X%22%2Ca%3D%22b%5C%22c%22%7D',
  );
});

test('Slack message: what broke, where, since when, the value, and what to do', () => {
  const msg = renderSlack(samplePayload(), ctx);
  assert.equal(msg.text, '[FIRING:1] critical DiskSpaceLow (mountpoint=/srv)');
  assert.equal(msg.blocks[0]!.type, 'header');
  const section = (msg.blocks[1] as { text: { type: string; text: string } }).text;
  assert.equal(section.type, 'mrkdwn');
  const t = section.text;
  assert.match(t, /\*DiskSpaceLow\* · critical/);
  assert.match(t, /\*Disk \/srv is 93% full on host1\*/);
  assert.match(t, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'mrkdwn control characters escaped');
  assert.match(t, /\*Value:\* 93%/);
  assert.match(t, /\*Since:\* 2h 5m \(2026-11-22T03:00:00Z\)/);
  assert.match(t, /`device=\/dev\/sda1` `instance=host1:9850` `mountpoint=\/srv`/);
  assert.doesNotMatch(t, /job=|alertname=|severity=/);
  assert.match(
    t,
    /<https:\/\/github\.com\/acme\/watchpost\/blob\/main\/docs\/runbooks\/DiskSpaceLow\.md\|Runbook>/,
  );
  assert.match(t, /<http:\/\/grafana\.example:3000\/d\/watchpost-host\?var-mountpoint=\/srv\|Dashboard>/);
  assert.match(
    t,
    /<http:\/\/am\.example:9093\/#\/silences\/new\?filter=%7Balertname%3D%22DiskSpaceLow%22%2C/,
  );
});

test('resolved Slack message says how long it was broken, with no silence link', () => {
  const msg = renderSlack(resolvedPayload(), ctx);
  assert.match(msg.text, /^\[RESOLVED:1\] critical DiskSpaceLow/);
  const t = (msg.blocks[1] as { text: { text: string } }).text.text;
  assert.match(t, /\*Resolved\* after 1h 25m/);
  assert.doesNotMatch(t, /Silence/);
});

test('Slack limits: at most 50 blocks and 3000 characters per section, with a note', () => {
  const base = samplePayload();
  const alert = base.alerts[0]!;
  const alerts: Alert[] = Array.from({ length: 120 }, (_, i) => ({
    ...alert,
    labels: { ...alert.labels, mountpoint: `/m${i}` },
    annotations: { ...alert.annotations, description: 'x'.repeat(i === 0 ? 10_000 : 10) },
  }));
  const msg = renderSlack({ ...base, alerts, truncatedAlerts: 5 }, ctx);
  assert.ok(msg.blocks.length <= SLACK_MAX_BLOCKS, `${msg.blocks.length} blocks`);
  assert.equal(msg.blocks.length, SLACK_MAX_BLOCKS);
  for (const b of msg.blocks) {
    const text = (b as { text?: { text: string } }).text?.text;
    if (text) assert.ok(text.length <= SLACK_MAX_SECTION_TEXT, `section of ${text.length} chars`);
  }
  const first = (msg.blocks[1] as { text: { text: string } }).text.text;
  assert.match(first, /… \(truncated\)/);
  assert.match(first, /\|Runbook>/, 'links survive truncation');
  const note = msg.blocks.at(-1) as { type: string; elements: { text: string }[] };
  assert.equal(note.type, 'context');
  // 48 shown: 120 - 48 + 5 truncated by Alertmanager
  assert.equal(note.elements[0]!.text, '… and 77 more alerts');
});

test('email: subject, and text and HTML parts with the same content, HTML-escaped', () => {
  const two = samplePayload();
  two.alerts.push({ ...two.alerts[0]!, labels: { ...two.alerts[0]!.labels, instance: 'host2:9850' } });
  const mail = renderEmail(two, ctx);
  assert.equal(mail.subject, '[FIRING:2] critical DiskSpaceLow (mountpoint=/srv)');
  for (const part of [mail.text, mail.html]) {
    assert.match(part, /Disk \/srv is 93% full on host1/);
    assert.match(part, /Value: 93%/);
    assert.match(part, /Since: 2h 5m/);
    assert.match(part, /host2:9850/);
    assert.match(part, /docs\/runbooks\/DiskSpaceLow\.md/);
    assert.match(part, /silences\/new\?filter=/);
  }
  assert.match(mail.text, /<script>alert\(1\)<\/script>/);
  assert.doesNotMatch(mail.html, /<script>/);
  assert.match(mail.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  const resolved = renderEmail(resolvedPayload(), ctx);
  assert.equal(resolved.subject, '[RESOLVED:1] critical DiskSpaceLow (mountpoint=/srv)');
  assert.match(resolved.text, /Resolved after 1h 25m/);
});

test('"Since" is when the problem began: started_at, else startsAt minus the for annotation', () => {
  const p = samplePayload();
  const a = p.alerts[0]!;
  a.startsAt = '2026-11-22T05:00:00Z';
  a.annotations.for = '5m';
  const text = (m: ReturnType<typeof renderSlack>) => (m.blocks[1] as { text: { text: string } }).text.text;
  // DiskSpaceLow was above its threshold for 5 minutes before it fired 5 minutes ago: 10 minutes.
  assert.match(text(renderSlack(p, ctx)), /\*Since:\* 10m \(2026-11-22T04:55:00\.000Z\)/);
  a.annotations.started_at = '2026-11-22T03:05:00Z';
  assert.match(text(renderSlack(p, ctx)), /\*Since:\* 2h \(2026-11-22T03:05:00.000Z\)/);
  // Empty or later than startsAt: not a start; back to for.
  a.annotations.started_at = '';
  assert.match(text(renderSlack(p, ctx)), /\*Since:\* 10m/);
  a.annotations.started_at = '2026-11-22T06:00:00Z';
  assert.match(renderText(p, ctx).text, /Since: 10m \(2026-11-22T04:55:00\.000Z\)/);
});

test('a resolved message says what is true now: no firing summary as fact, the value as it was, the duration', () => {
  const p = resolvedPayload();
  const a = p.alerts[0]!;
  a.startsAt = '2026-11-22T03:00:00Z';
  a.endsAt = '2026-11-22T04:25:00Z';
  a.annotations.for = '5m';
  a.annotations.keep_firing_for = '10m';
  const text = (renderSlack(p, ctx).blocks[1] as { text: { text: string } }).text.text;
  assert.match(text, /\*No longer: Disk \/srv is 93% full on host1\*/);
  assert.doesNotMatch(text, /\*Value:\*/);
  assert.match(text, /\*Value when it fired:\* 93%/);
  assert.doesNotMatch(text, /Only 7 GiB left/, 'the description describes the firing state');
  // Began 5 minutes before startsAt, ended 10 minutes (keep_firing_for) before endsAt.
  assert.match(
    text,
    /\*Resolved\* after 1h 20m \(from 2026-11-22T02:55:00\.000Z to 2026-11-22T04:15:00\.000Z\)/,
  );
  const withNow = (
    renderSlack(p, { ...ctx, current: { [a.fingerprint]: '71.5' } }).blocks[1] as { text: { text: string } }
  ).text.text;
  assert.match(withNow, /\*Value now:\* 71\.5/);
  const mail = renderEmail(p, { ...ctx, current: { [a.fingerprint]: '71.5' } });
  assert.match(mail.text, /Value now: 71\.5\n {2}Value when it fired: 93%/);
});

test('a lone surrogate does not make rendering throw (an outbox written before payloads were cleaned)', () => {
  const p = samplePayload();
  p.alerts[0]!.labels.mountpoint = '/srv\ud800';
  assert.doesNotThrow(() => renderSlack(p, ctx));
  assert.doesNotThrow(() => renderEmail(p, ctx));
  assert.match(silenceUrl('http://am', { a: '\udfff' }), /%EF%BF%BD/);
});

test("a shipped rule's dashboard_url becomes a link to its Grafana panel in Slack and email, or the path without a base URL", async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { parse } = await import('yaml');
  const rules = parse(readFileSync(join(import.meta.dirname, '..', 'alerts', 'host.rules.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
  };
  const rule = rules.groups[0]!.rules.find((r) => r.alert === 'DiskSpaceLow')!;
  const path = rule.annotations!.dashboard_url!;
  assert.equal(path, 'd/watchpost-host-and-disks/watchpost-host-and-disks?viewPanel=6');
  const payload = samplePayload();
  payload.alerts[0]!.annotations.dashboard_url = path;
  // Grafana served under a sub-path, as behind a reverse proxy.
  const withBase = { ...ctx, dashboardBaseUrl: 'https://ops.example.org/grafana' };
  const url = `https://ops.example.org/grafana/${path}`;
  const slack = JSON.stringify(renderSlack(payload, withBase).blocks);
  assert.ok(slack.includes(`<${url}|Dashboard>`), slack);
  const email = renderEmail(payload, withBase);
  assert.ok(email.text.includes(`Dashboard: ${url}`), email.text);
  assert.ok(email.html.includes(`href="${url}"`), email.html);

  const noBase = { ...ctx, dashboardBaseUrl: undefined };
  const slackNoBase = JSON.stringify(renderSlack(payload, noBase).blocks);
  assert.ok(slackNoBase.includes(`Dashboard: ${path}`), slackNoBase);
  assert.ok(renderEmail(payload, noBase).text.includes(`Dashboard: ${path}`));
  assert.ok(renderEmail(payload, noBase).html.includes('<li>Dashboard: d/watchpost-host-and-disks/'));
});

test('an alert from a site and host says where first, in Slack, text and email', () => {
  const base = samplePayload();
  const alert = base.alerts[0]!;
  const payload = samplePayload({
    alerts: [{ ...alert, labels: { ...alert.labels, site: 'paris', host: 'recorder-1' } }],
  });
  const slack = JSON.stringify(renderSlack(payload, ctx).blocks);
  assert.match(slack, /\*Where:\* site paris · host recorder-1/);
  assert.doesNotMatch(slack, /`site=paris`/);
  assert.match(renderText(payload, ctx).text, /\n {2}Where: site paris · host recorder-1\n/);
  assert.match(renderEmail(payload, ctx).html, /<li>Where: site paris · host recorder-1<\/li>/);
  // A single-host alert, without those labels, has no Where line.
  assert.doesNotMatch(renderText(base, ctx).text, /Where:/);
});
