import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { silentLogger } from '../internal/log.js';
import { seededRandom } from '../internal/testing/helpers.js';
import { notifierSchema } from '../config/notifier-schema.js';
import { samplePayload } from './fixtures/fakes.js';
import { startNotifier, type NotifierHandle } from './run.js';

/**
 * Fuzzes POST /alerts with thousands of malformed bodies, generated from a fixed seed (so a
 * failure replays: the failing case's index and description are in the message). Every
 * answer must be a 4xx with a JSON reason, never a 5xx or a dropped connection; afterwards
 * the server is healthy and nothing malformed reached the outbox.
 */

const SEED = Number(process.env.WATCHPOST_FUZZ_SEED ?? 0x5eed1234);
const COUNT = Number(process.env.WATCHPOST_FUZZ_COUNT ?? 3000);
const DEADLINE_MS = 60_000;
const CONCURRENCY = 16;
const MAX_BODY = 64 * 1024;
const TOKEN = 'fuzz-' + 'f0'.repeat(20);

/** Seeded: the same cases on every run. */
function prng(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Case {
  what: string;
  body: Buffer;
  headers: Record<string, string>;
  /** Send without Content-Length, in chunks. */
  chunked?: boolean;
  /** The statuses that are right for it. */
  expect: number[];
}

const NOT_STRING: Json[] = [1, -0.5, true, false, null, [], {}, ['x'], { a: 'b' }];
const NOT_NUMBER: Json[] = ['0', '1', true, null, [], {}, -1, 1.5, 1e21];
const NOT_STATUS: Json[] = ['on fire', 'FIRING', '', 1, true, null, [], {}];
const NOT_LABELS: Json[] = [
  'x',
  '',
  1,
  true,
  null,
  [],
  ['a'],
  { a: 1 },
  { a: null },
  { a: {} },
  { a: ['b'] },
  { a: true },
];
const NOT_TIME: Json[] = ['not a time', '', 'yesterday', 1, 0, true, null, [], {}];
const NOT_ALERTS: Json[] = ['x', 1, true, null, {}, { 0: {} }, [1], ['x'], [null], [[]], [true]];
const NOT_VERSION: Json[] = [4, '5', '3', '', '4 ', null, [], {}, true, ['4']];

/** Every field of a v4 payload with values of the wrong type for it. */
const TOP_FIELDS: [string, Json[]][] = [
  ['version', NOT_VERSION],
  ['groupKey', NOT_STRING],
  ['truncatedAlerts', NOT_NUMBER],
  ['status', NOT_STATUS],
  ['receiver', NOT_STRING],
  ['groupLabels', NOT_LABELS],
  ['commonLabels', NOT_LABELS],
  ['commonAnnotations', NOT_LABELS],
  ['externalURL', NOT_STRING],
  ['alerts', NOT_ALERTS],
];
const ALERT_FIELDS: [string, Json[]][] = [
  ['status', NOT_STATUS],
  ['labels', NOT_LABELS],
  ['annotations', NOT_LABELS],
  ['startsAt', NOT_TIME],
  ['endsAt', NOT_TIME],
  ['generatorURL', NOT_STRING],
  ['fingerprint', NOT_STRING],
];
const REQUIRED_TOP = ['version', 'status', 'alerts'];
const REQUIRED_ALERT = ['status', 'labels', 'startsAt'];

function validPayload(rng: Rng): { [k: string]: Json } {
  const p = JSON.parse(JSON.stringify(samplePayload())) as { [k: string]: Json };
  const alerts = p.alerts as Json[];
  const n = rng.int(4);
  for (let i = 0; i < n; i++) alerts.push(JSON.parse(JSON.stringify(alerts[0])) as Json);
  return p;
}

function garbageString(rng: Rng, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const kind = rng.int(6);
    if (kind === 0)
      s += String.fromCharCode(0xd800 + rng.int(0x800)); // lone surrogates
    else if (kind === 1) s += '\u0000';
    else if (kind === 2) s += String.fromCodePoint(rng.int(0x110000 - 0xe000) + 0xe000);
    else if (kind === 3) s += rng.pick(['"', '\\', '\n', '\u2028', '\u202e', '\ufeff', '{', '}', '<', '>']);
    else s += String.fromCharCode(rng.int(0x7f));
  }
  return s;
}

/** Makes a valid payload invalid in exactly one schema-visible way; returns a description. */
function breakPayload(rng: Rng, p: { [k: string]: Json }): string {
  const alerts = p.alerts as { [k: string]: Json }[];
  switch (rng.int(4)) {
    case 0: {
      const [field, bad] = rng.pick(TOP_FIELDS);
      p[field] = rng.pick(bad);
      return `${field}=${JSON.stringify(p[field])}`;
    }
    case 1: {
      const i = rng.int(alerts.length);
      const [field, bad] = rng.pick(ALERT_FIELDS);
      alerts[i]![field] = rng.pick(bad);
      return `alerts[${i}].${field}=${JSON.stringify(alerts[i]![field])}`;
    }
    case 2: {
      if (rng.int(2) === 0) {
        const field = rng.pick(REQUIRED_TOP);
        delete p[field];
        return `missing ${field}`;
      }
      const i = rng.int(alerts.length);
      const field = rng.pick(REQUIRED_ALERT);
      delete alerts[i]![field];
      return `missing alerts[${i}].${field}`;
    }
    default: {
      // A label or annotation value of the wrong type, under an odd key.
      const i = rng.int(alerts.length);
      const where = rng.pick(['labels', 'annotations']);
      const key = rng.pick(['severity', '__proto__', 'constructor', '', garbageString(rng, 5)]);
      // defineProperty: an own "__proto__" key, as JSON.parse makes it (assignment would set the prototype).
      Object.defineProperty(alerts[i]![where] as object, key, {
        value: rng.pick([1, null, true, [], {}, ['x']] as Json[]),
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return `alerts[${i}].${where}[${JSON.stringify(key)}] not a string`;
    }
  }
}

/** Noise that leaves a payload's validity as it was: extra fields, garbage and NULs in strings. */
function addNoise(rng: Rng, p: { [k: string]: Json }): string {
  const notes: string[] = [];
  if (rng.int(2) === 0) {
    p[rng.pick(['extra', 'x'.repeat(200), '__proto__', garbageString(rng, 8)])] = rng.pick([
      1,
      'x',
      null,
      { deep: { er: [1, 2, { x: null }] } },
      [[[[]]]],
    ] as Json[]);
    notes.push('extra field');
  }
  if (rng.int(2) === 0) {
    const alerts = p.alerts as Json[];
    const a = Array.isArray(alerts) ? alerts[0] : undefined;
    if (a && typeof a === 'object' && !Array.isArray(a)) {
      const ann = a.annotations;
      if (ann && typeof ann === 'object' && !Array.isArray(ann))
        ann.summary = garbageString(rng, 1 + rng.int(300));
      notes.push('unicode garbage');
    }
  }
  if (rng.int(3) === 0) {
    if (typeof p.receiver === 'string') {
      p.receiver = `nul\u0000byte${p.receiver}`;
      notes.push('NUL');
    }
  }
  return notes.join(', ');
}

function nested(depth: number, open: string, close: string, inner = ''): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const AUTH = { Authorization: `Bearer ${TOKEN}` };

function makeCase(rng: Rng): Case {
  const headers: Record<string, string> = { ...JSON_HEADERS, ...AUTH };
  const json = (what: string, body: string | Buffer, extra: Partial<Case> = {}): Case => {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    return { what, body: buf, headers, expect: buf.length > MAX_BODY ? [413] : [400], ...extra };
  };
  const kind = rng.int(100);

  if (kind < 3) {
    // Deliberately unauthenticated: 401 before the body is even read.
    const variant = rng.int(4);
    delete headers.Authorization;
    if (variant === 1) headers.Authorization = 'Bearer wrong';
    if (variant === 2) headers.Authorization = `Basic ${TOKEN}`;
    if (variant === 3) headers.Authorization = `Bearer ${TOKEN}x`;
    return json(`unauthorized (${variant})`, JSON.stringify(samplePayload()), { expect: [401] });
  }
  if (kind < 10) {
    const raw = rng.int(2) === 0;
    const len = rng.int(200);
    const body = raw
      ? Buffer.from(Array.from({ length: len }, () => rng.int(256)))
      : Buffer.from(
          rng.pick([
            '{',
            '}',
            '{"version":"4",}',
            "{'version':'4'}",
            '{"version":"4" "status":"firing"}',
            'NaN',
            'undefined',
            '{"a":1}{"b":2}',
            '[1,2,]',
            '\u0000',
            '{"version":"4","alerts":[1,,2]}',
            '{"a":"\\u12"}',
            '{"a":"\\x41"}',
            garbageString(rng, len),
          ]),
          'utf8',
        );
    return json(raw ? 'random bytes' : 'invalid JSON', body);
  }
  if (kind < 22) {
    const text = JSON.stringify(validPayload(rng));
    return json('truncated JSON', text.slice(0, rng.int(text.length)));
  }
  if (kind < 60) {
    const p = validPayload(rng);
    const broken = breakPayload(rng, p);
    const noise = addNoise(rng, p);
    return json(`wrong type: ${broken}${noise ? ` + ${noise}` : ''}`, JSON.stringify(p));
  }
  if (kind < 66) {
    // Just under, at, or over the size limit.
    const p = validPayload(rng);
    const broken = breakPayload(rng, p);
    const base = Buffer.byteLength(JSON.stringify(p));
    const target = MAX_BODY + rng.pick([-1000, -100, -1, 0, 1, 100, 5000, 3 * MAX_BODY]);
    p.padding = 'x'.repeat(Math.max(0, target - base - '"padding":"",'.length));
    const body = JSON.stringify(p);
    return json(`huge (${Buffer.byteLength(body)} bytes) + ${broken}`, body, { chunked: rng.int(2) === 0 });
  }
  if (kind < 72) {
    const depth = rng.pick([100, 1000, 10_000, 10_000, 20_000]);
    const variant = rng.int(6);
    const p = validPayload(rng);
    let body: string;
    if (variant === 0) body = nested(depth, '[', ']');
    else if (variant === 1) body = nested(depth, '{"a":', '}', '1');
    else if (variant === 2)
      body = '['.repeat(depth); // never closed
    else {
      const hole = '"__HOLE__"';
      const field = rng.pick(['alerts', 'groupLabels', 'version', 'status']);
      if (variant === 3) p[field] = '__HOLE__';
      else if (variant === 4) (p.alerts as { [k: string]: Json }[])[0]!.labels = '__HOLE__';
      else {
        // Deep nesting in an extra field is ignored, so the payload is also broken elsewhere.
        breakPayload(rng, p);
        p.extra = '__HOLE__';
      }
      body = JSON.stringify(p).replace(hole, nested(depth, '[', ']'));
    }
    return json(`deep nesting ${depth} (variant ${variant})`, body);
  }
  if (kind < 78) {
    const body = rng.pick([
      'null',
      'true',
      '0',
      '-1e999',
      '"4"',
      '[]',
      JSON.stringify([samplePayload()]),
      '{}',
      '""',
      ' ',
      '\n\t',
    ]);
    return json('valid JSON, not a payload', body);
  }
  if (kind < 84) {
    const body = rng.pick(['', '', '\r\n']);
    return json('empty body', body, { chunked: rng.int(2) === 0 });
  }
  if (kind < 92) {
    // Wrong content type; the body is broken too, so whatever the type, it is not accepted.
    const p = validPayload(rng);
    const broken = breakPayload(rng, p);
    const type = rng.pick([
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/json; charset=utf-16',
      'application/json; charset=nonsense',
      'image/png',
      '',
      ';;;',
    ]);
    const c = json(`content-type ${JSON.stringify(type)} + ${broken}`, JSON.stringify(p));
    if (type === '') delete headers['Content-Type'];
    else headers['Content-Type'] = type;
    // body-parser.raw reads any type as bytes; a charset it cannot decode is 415.
    c.expect = [400, 415];
    return c;
  }
  // Content-Encoding: garbage that claims to be gzip, real gzip of a broken payload, or an unknown encoding.
  const p = validPayload(rng);
  const broken = breakPayload(rng, p);
  const enc = rng.int(3);
  if (enc === 0) {
    headers['Content-Encoding'] = 'gzip';
    return json('gzip garbage', Buffer.from(garbageString(rng, 50)), { expect: [400, 415] });
  }
  if (enc === 1) {
    headers['Content-Encoding'] = 'gzip';
    return json(`gzip + ${broken}`, gzipSync(JSON.stringify(p)), { expect: [400, 413] });
  }
  headers['Content-Encoding'] = rng.pick(['br-nonsense', 'compress', 'x-unknown']);
  return json(`content-encoding ${headers['Content-Encoding']}`, JSON.stringify(p), { expect: [415] });
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(url: URL, c: Case): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...c.headers };
    if (!c.chunked) headers['Content-Length'] = c.body.length;
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    if (c.chunked) {
      for (let o = 0; o < c.body.length; o += 16 * 1024) req.write(c.body.subarray(o, o + 16 * 1024));
      req.end();
    } else req.end(c.body);
  });
}

async function startFuzzTarget(): Promise<{ n: NotifierHandle; base: string }> {
  const base = mkdtempSync(join(tmpdir(), 'watchpost-fuzz-'));
  const tokenFile = join(base, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const config = notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: tokenFile,
    state_dir: join(base, 'state'),
    max_body_bytes: MAX_BODY,
  });
  return { n: await startNotifier({ config, log: silentLogger }), base };
}

test('fuzz: malformed POST /alerts bodies get a 4xx, never a 5xx or a reset; nothing reaches the outbox', async () => {
  const { n } = await startFuzzTarget();
  try {
    const url = new URL('/alerts', n.url);
    const rng = prng(SEED);
    const cases = Array.from({ length: COUNT }, () => makeCase(rng));
    const deadline = Date.now() + DEADLINE_MS;
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    let sent = 0;
    let next = 0;
    const worker = async () => {
      while (next < cases.length && Date.now() < deadline && failures.length < 20) {
        const i = next++;
        const c = cases[i]!;
        try {
          const r = await send(url, c);
          sent++;
          byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
          let error: unknown;
          try {
            error = (JSON.parse(r.body) as { error?: unknown }).error;
          } catch {
            error = undefined;
          }
          if (!c.expect.includes(r.status) || typeof error !== 'string' || error === '')
            failures.push(
              `#${i} ${c.what}: got ${r.status} ${r.body.slice(0, 300)}, expected ${c.expect.join('/')}`,
            );
        } catch (err) {
          failures.push(
            `#${i} ${c.what}: ${(err as Error).message} (${(err as NodeJS.ErrnoException).code ?? ''})`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} bad answers`);
    assert.ok(sent >= Math.min(COUNT, 500), `only ${sent} requests in ${DEADLINE_MS} ms`);
    for (const s of byStatus.keys()) assert.ok(s >= 400 && s < 500, `status ${s}`);
    // The generator covers each kind of answer.
    for (const s of [400, 401, 413, 415])
      assert.ok((byStatus.get(s) ?? 0) > 0, `no ${s} among ${[...byStatus]}`);

    // Still alive and healthy, and nothing malformed was accepted.
    assert.equal((await fetch(`${n.url}/-/healthy`)).status, 200);
    assert.equal((await fetch(`${n.url}/-/ready`)).status, 200);
    assert.equal(n.outbox.depth(), 0);
    assert.equal(n.outbox.entries().length, 0);
    const metrics = await (await fetch(`${n.url}/metrics`, { headers: AUTH })).text();
    const rejected = [...metrics.matchAll(/^watchpost_notifier_rejected_total\{reason="(\w+)"\} (\d+)$/gm)];
    const total = rejected.reduce((sum, m) => sum + Number(m[2]), 0);
    assert.equal(
      total,
      sent,
      `every request is counted as rejected: ${rejected.map((m) => m[0]).join(', ')}`,
    );
    assert.match(metrics, /^watchpost_notifier_outbox_depth 0$/m);

    // And a good one still goes through.
    const ok = await fetch(url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...AUTH },
      body: JSON.stringify(samplePayload()),
    });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { status: string }).status, 'accepted');
  } finally {
    agent.destroy();
    await n.close();
  }
});

/** A string of hostile but valid JSON content: lone surrogates, emoji, markup, control characters, length. */
function hostileString(rng: Rng, max: number): string {
  const parts = [
    '\ud800',
    '\udfff',
    'a\ud83d',
    '😀',
    '<script>',
    '&amp;',
    '|>',
    '`',
    '*_~',
    '\u0000',
    '\n',
    '"\\',
    'é',
    'x'.repeat(rng.int(max)),
  ];
  let s = '';
  for (let i = rng.int(6); i >= 0; i--) s += rng.pick(parts);
  return s.slice(0, max + 8);
}

test('fuzz: valid webhooks with lone surrogates, long links and hostile text are all delivered within Slack limits', async () => {
  const { mkdtempSync: mk } = await import('node:fs');
  const { startFakeSlack } = await import('./fixtures/fakes.js');
  const slack = await startFakeSlack();
  const base = mk(join(tmpdir(), 'watchpost-fuzz-valid-'));
  writeFileSync(join(base, 'token'), TOKEN, { mode: 0o600 });
  writeFileSync(join(base, 'slack'), slack.url, { mode: 0o600 });
  const n = await startNotifier({
    config: notifierSchema({ baseDir: base }).parse({
      listen: '127.0.0.1:0',
      bearer_token_file: 'token',
      state_dir: 'state',
      max_body_bytes: '256KiB',
      alertmanager_url: 'http://am.example:9093',
      channels: [{ name: 'slack', type: 'slack', slack: { webhook_url_file: 'slack' } }],
    }),
    log: silentLogger,
    delivery: { backoffBaseMs: 10, backoffCapMs: 100, sendTimeoutMs: 5000 },
  });
  try {
    const rng = prng(SEED ^ 0x51ac);
    const count = Math.min(COUNT, 300);
    let accepted = 0;
    for (let i = 0; i < count; i++) {
      const p = samplePayload({ groupKey: `fuzz-${i}` });
      const alerts = Array.from({ length: 1 + rng.int(rng.next() < 0.1 ? 70 : 3) }, (_, j) => ({
        ...p.alerts[0]!,
        labels: {
          ...p.alerts[0]!.labels,
          [hostileString(rng, 20) || 'k']: hostileString(rng, 200),
          j: String(j),
        },
        annotations: {
          summary: hostileString(rng, 300),
          description: hostileString(rng, 4000),
          runbook_url:
            rng.next() < 0.5 ? `https://runbooks.example/${hostileString(rng, 3000)}` : 'docs/runbooks/X.md',
          dashboard_url: `d/${hostileString(rng, 2000)}`,
        },
        generatorURL: `http://prometheus.example:9090/graph?g0.expr=${hostileString(rng, 4600)}`,
      }));
      p.groupLabels = { alertname: hostileString(rng, 400) || 'A' };
      p.alerts = alerts;
      const res = await fetch(`${n.url}/alerts`, {
        method: 'POST',
        headers: { ...JSON_HEADERS, ...AUTH },
        body: JSON.stringify(p),
      });
      const body = (await res.json()) as { status?: string; error?: string };
      if (res.status === 200 && body.status === 'accepted') accepted++;
      else assert.equal(res.status, 413, `#${i}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    }
    assert.ok(accepted >= count * 0.9, `accepted ${accepted} of ${count}`);
    const end = Date.now() + 120_000;
    while (slack.received.length < accepted && Date.now() < end && slack.rejected.length === 0)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(slack.rejected, [], 'Slack refused none (Block Kit limits kept)');
    assert.equal(slack.received.length, accepted, 'every accepted webhook delivered');
    assert.match(await (await fetch(`${n.url}/metrics`, { headers: AUTH })).text(), /failed_permanent"\} 0/);
  } finally {
    await n.close();
    await slack.close();
  }
});
