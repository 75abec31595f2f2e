import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../internal/log.js';
import { parseMatcher, type Matcher } from '../internal/matchers.js';
import { notifierSchema } from '../config/notifier-schema.js';
import { route, type RouteTarget } from './delivery.js';
import { samplePayload } from './fixtures/fakes.js';
import type { WebhookPayload } from './payload.js';
import { startNotifier } from './run.js';

function ms(...texts: string[]): Matcher[] {
  return texts.map((t) => {
    const r = parseMatcher(t);
    assert.ok(r.ok);
    return r.matcher;
  });
}

function payload(...alerts: Record<string, string>[]): WebhookPayload {
  const base = samplePayload({ commonLabels: {}, groupLabels: {} });
  const template = base.alerts[0]!;
  return { ...base, alerts: alerts.map((labels) => ({ ...template, labels })) };
}

const channels: RouteTarget[] = [
  { name: 'all', severities: undefined },
  { name: 'db-critical', severities: ['critical'] },
  { name: 'db-any', severities: undefined },
  { name: 'not-staging', severities: ['warning', 'critical'] },
  { name: 'api', severities: undefined },
];
const matchers = new Map<string, Matcher[] | undefined>([
  ['db-critical', ms('team="db"')],
  ['db-any', ms('team="db"')],
  ['not-staging', ms('env!~"staging|dev"')],
  ['api', ms('service=~"api"', 'team!="db"')],
]);

test('routing: severities AND all matchers, for any one alert', () => {
  assert.deepEqual(route(payload({ severity: 'critical', team: 'db', env: 'prod' }), channels, matchers), [
    'all',
    'db-critical',
    'db-any',
    'not-staging',
  ]);
  assert.deepEqual(route(payload({ severity: 'warning', team: 'db', env: 'staging' }), channels, matchers), [
    'all',
    'db-any',
  ]);
  // The regex is anchored: "api-gateway" is not "api".
  assert.deepEqual(route(payload({ severity: 'info', service: 'api-gateway' }), channels, matchers), ['all']);
  assert.deepEqual(route(payload({ severity: 'info', service: 'api' }), channels, matchers), ['all', 'api']);
});

test('routing: one alert must satisfy severity and matchers together', () => {
  // One alert is critical (team web), another is from team db (warning): neither is both.
  const p = payload({ severity: 'critical', team: 'web' }, { severity: 'warning', team: 'db' });
  assert.deepEqual(route(p, channels, matchers), ['all', 'db-any', 'not-staging']);
  const q = payload({ severity: 'critical', team: 'web' }, { severity: 'critical', team: 'db' });
  assert.deepEqual(route(q, channels, matchers), ['all', 'db-critical', 'db-any', 'not-staging']);
});

test('routing: without matchers it is the severity routing it always was', () => {
  const plain: RouteTarget[] = [
    { name: 'log', severities: undefined },
    { name: 'crit', severities: ['critical'] },
    { name: 'info', severities: ['info'] },
  ];
  assert.deepEqual(route(samplePayload(), plain), ['log', 'crit']);
  // commonLabels count for every alert, and route a payload without alerts.
  const noSeverity = payload({ alertname: 'X' });
  assert.deepEqual(route({ ...noSeverity, commonLabels: { severity: 'info' } }, plain), ['log', 'info']);
  assert.deepEqual(route({ ...noSeverity, alerts: [], commonLabels: { severity: 'critical' } }, plain), [
    'log',
    'crit',
  ]);
  assert.deepEqual(route(noSeverity, plain), ['log']);
});

test('routing: matchers from the config decide where an accepted notification goes', async () => {
  const base = mkdtempSync(join(tmpdir(), 'watchpost-routing-'));
  const tokenFile = join(base, 'token');
  writeFileSync(tokenFile, 'routing-token-0123456789\n', { mode: 0o600 });
  const config = notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: tokenFile,
    channels: [
      { name: 'everything', type: 'log' },
      { name: 'db', type: 'log', matchers: ['team="db"'] },
      { name: 'web-critical', type: 'log', severities: ['critical'], matchers: ['team=~"web|frontend"'] },
    ],
  });
  const n = await startNotifier({ config, log: silentLogger });
  try {
    const post = async (p: WebhookPayload) => {
      const res = await fetch(`${n.url}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer routing-token-0123456789' },
        body: JSON.stringify(p),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { channels: string[] }).channels;
    };
    assert.deepEqual(await post(payload({ alertname: 'A', severity: 'warning', team: 'db' })), [
      'everything',
      'db',
    ]);
    assert.deepEqual(await post(payload({ alertname: 'B', severity: 'critical', team: 'frontend' })), [
      'everything',
      'web-critical',
    ]);
    assert.deepEqual(await post(payload({ alertname: 'C', severity: 'warning', team: 'web' })), [
      'everything',
    ]);
  } finally {
    await n.close();
  }
});
