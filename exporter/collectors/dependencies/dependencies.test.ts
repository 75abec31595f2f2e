import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../../config/load.js';
import { silentLogger } from '../../../internal/log.js';
import { startExporter, type ExporterHandle } from '../../run.js';
import type { DeepHealth } from './health.js';
import { scrub } from '../../sources/probes.js';
import { DependenciesCollector } from './dependencies.js';
import { collectText, parseSamples } from '../../../test/samples.js';

/** What the runner last served for each collector: the text of its last accepted run. */
const served = new WeakMap<DependenciesCollector, string>();
async function runOnce(c: DependenciesCollector): Promise<void> {
  served.set(c, await collectText(c));
}
const samples = async (c: DependenciesCollector) => parseSamples(served.get(c) ?? '');

/**
 * Every probe against a real server on 127.0.0.1: HTTP, HTTPS with certificates made
 * here by openssl, a port that is closed, and a server that accepts and never answers.
 */

const HEADER_SECRET = 'hdr-val-7c1e9a55';
const TOKEN_SECRET = 'tok-val-3b8d2f66';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-deps-'));
const servers: { close(): unknown }[] = [];
const sockets = new Set<net.Socket>();
let httpPort = 0;
let httpsPort = 0;
let shortHttpsPort = 0;
let closedPort = 0;
let hangPort = 0;
let certNotAfter = 0;
let shortCertNotAfter = 0;

function makeCert(days: number, prefix: string): { key: Buffer; cert: Buffer; notAfter: number } {
  const key = join(dir, `${prefix}.key`);
  const cert = join(dir, `${prefix}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', String(days), '-subj', '/CN=localhost'].concat(
      ['-keyout', key, '-out', cert],
    ),
    { stdio: 'ignore' },
  );
  const end = execFileSync('openssl', ['x509', '-enddate', '-noout', '-in', cert], { encoding: 'utf8' });
  const notAfter = Date.parse(end.trim().replace(/^notAfter=/, '')) / 1000;
  assert.ok(Number.isFinite(notAfter), end);
  return { key: readFileSync(key), cert: readFileSync(cert), notAfter };
}

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

const handler: http.RequestListener = (req, res) => {
  switch (req.url) {
    case '/down':
      res.writeHead(503).end('maintenance');
      return;
    case '/body':
      res.writeHead(200, { 'content-type': 'text/plain' }).end('{"status":"healthy"}');
      return;
    case '/auth': {
      // Echoes what it got, so a leak through a body would show.
      const ok =
        req.headers['x-api-key'] === HEADER_SECRET && req.headers.authorization === `Bearer ${TOKEN_SECRET}`;
      res.writeHead(ok ? 200 : 401).end(JSON.stringify(req.headers));
      return;
    }
    default:
      res.writeHead(200).end('ok');
  }
};

before(async () => {
  const long = makeCert(30, 'long');
  const short = makeCert(1, 'short');
  certNotAfter = long.notAfter;
  shortCertNotAfter = short.notAfter;
  httpPort = await listen(http.createServer(handler));
  httpsPort = await listen(https.createServer({ key: long.key, cert: long.cert }, handler));
  shortHttpsPort = await listen(https.createServer({ key: short.key, cert: short.cert }, handler));
  hangPort = await listen(net.createServer(() => {}));
  const closed = net.createServer();
  closedPort = await new Promise<number>((resolve) =>
    closed.listen(0, '127.0.0.1', () => {
      const port = (closed.address() as net.AddressInfo).port;
      closed.close(() => resolve(port));
    }),
  );
});

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(
    servers.map(
      (s) => new Promise((resolve) => (s.close as (cb: () => void) => void)(() => resolve(undefined))),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

function config(targets: string) {
  writeFileSync(join(dir, 'token'), `${TOKEN_SECRET}\n`);
  const text = `exporter:\n  listen: 127.0.0.1:0\ncollectors:\n  dependencies:\n    interval: 10s\n    timeout: 6s\n    targets:\n${targets}`;
  return parseConfigText(text, 'test.yml', {}, dir);
}

function reasons(s: Map<string, number>, name: string): string[] {
  const prefix = `watchpost_dependency_failure_reason{name="${name}",reason="`;
  return [...s.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length, -2));
}

describe('dependencies collector: probes against real servers', () => {
  let collector: DependenciesCollector;
  let s: Map<string, number>;

  before(async () => {
    const h = `http://127.0.0.1:${httpPort}`;
    const cfg = config(
      [
        `      - { name: web, kind: http, url: "${h}/" }`,
        `      - { name: down, kind: http, url: "${h}/down" }`,
        `      - { name: down-ok, kind: http, url: "${h}/down", valid_status: [503] }`,
        `      - { name: wrong-status, kind: http, url: "${h}/", valid_status: [204] }`,
        `      - { name: body-ok, kind: http, url: "${h}/body", body_regex: '"status":"healthy"' }`,
        `      - { name: body-bad, kind: http, url: "${h}/body", body_regex: '"status":"ready"' }`,
        `      - { name: refused, kind: http, url: "http://127.0.0.1:${closedPort}/" }`,
        `      - { name: hang, kind: http, url: "http://127.0.0.1:${hangPort}/", probe_timeout: 400ms }`,
        `      - { name: nxdomain, kind: http, url: "http://nonexistent.invalid/" }`,
        `      - { name: tls-verify, kind: https, url: "https://127.0.0.1:${httpsPort}/" }`,
        `      - { name: tls-noverify, kind: https, url: "https://127.0.0.1:${httpsPort}/", tls_verify: false }`,
        `      - { name: tls-short, kind: https, url: "https://127.0.0.1:${shortHttpsPort}/", tls_verify: false }`,
        `      - { name: tcp-up, kind: tcp, address: "127.0.0.1:${httpPort}" }`,
        `      - { name: tcp-down, kind: tcp, address: "127.0.0.1:${closedPort}" }`,
        `      - { name: tcp-tls, kind: tcp, address: "127.0.0.1:${httpsPort}", tls: true, tls_verify: false }`,
        `      - { name: tcp-tls-verify, kind: tcp, address: "127.0.0.1:${httpsPort}", tls: true }`,
        `      - { name: tcp-hang, kind: tcp, address: "127.0.0.1:${hangPort}", tls: true, probe_timeout: 400ms }`,
        `      - { name: slow, kind: http, url: "${h}/", slow_threshold: 250ms }`,
        '',
      ].join('\n'),
    );
    collector = new DependenciesCollector({ config: cfg, log: silentLogger });
    const started = Date.now();
    await runOnce(collector);
    assert.ok(Date.now() - started < 1900, 'probes run in parallel, each within its own timeout');
    s = await samples(collector);
  });

  const up = (name: string, kind: string) => s.get(`watchpost_dependency_up{name="${name}",kind="${kind}"}`);

  it('up targets: up 1, no failure reason, last success now', () => {
    for (const [name, kind] of [
      ['web', 'http'],
      ['down-ok', 'http'],
      ['body-ok', 'http'],
      ['tls-noverify', 'https'],
      ['tcp-up', 'tcp'],
      ['tcp-tls', 'tcp'],
    ] as const) {
      assert.equal(up(name, kind), 1, name);
      assert.deepEqual(reasons(s, name), [], name);
      const last = s.get(`watchpost_dependency_last_success_timestamp_seconds{name="${name}"}`)!;
      assert.ok(Math.abs(last - Date.now() / 1000) < 10, `${name} last success ${last}`);
    }
    assert.equal(s.get('watchpost_dependency_status_code{name="web"}'), 200);
    assert.equal(s.get('watchpost_dependency_status_code{name="down-ok"}'), 503);
    assert.equal(s.get('watchpost_dependency_status_code{name="tcp-up"}'), undefined, 'no status for tcp');
  });

  it('each failure has exactly its reason, and last success 0', () => {
    const expected: [string, string, string][] = [
      ['down', 'http', 'status'],
      ['wrong-status', 'http', 'status'],
      ['body-bad', 'http', 'body'],
      ['refused', 'http', 'connect'],
      ['hang', 'http', 'timeout'],
      ['nxdomain', 'http', 'dns'],
      ['tls-verify', 'https', 'tls'],
      ['tcp-down', 'tcp', 'connect'],
      ['tcp-tls-verify', 'tcp', 'tls'],
      ['tcp-hang', 'tcp', 'timeout'],
    ];
    for (const [name, kind, reason] of expected) {
      assert.equal(up(name, kind), 0, name);
      assert.deepEqual(reasons(s, name), [reason], name);
      assert.equal(s.get(`watchpost_dependency_failure_reason{name="${name}",reason="${reason}"}`), 1);
      assert.equal(s.get(`watchpost_dependency_last_success_timestamp_seconds{name="${name}"}`), 0, name);
    }
    assert.equal(s.get('watchpost_dependency_status_code{name="down"}'), 503);
    assert.equal(s.get('watchpost_dependency_status_code{name="wrong-status"}'), 200);
    const hang = s.get('watchpost_dependency_duration_seconds{name="hang"}')!;
    assert.ok(hang >= 0.39 && hang < 1.5, `timed out after its probe_timeout: ${hang}`);
  });

  it('exports the certificate expiry of https and tcp+tls targets, read back from openssl', () => {
    const near = (name: string, notAfter: number) => {
      const v = s.get(`watchpost_dependency_tls_cert_expiry_timestamp_seconds{name="${name}"}`);
      assert.ok(v !== undefined && Math.abs(v - notAfter) < 60, `${name}: ${v} vs ${notAfter}`);
    };
    near('tls-noverify', certNotAfter);
    near('tcp-tls', certNotAfter);
    near('tls-short', shortCertNotAfter);
    assert.ok(
      shortCertNotAfter - Date.now() / 1000 < 86_400 + 60,
      'the short certificate expires within a day',
    );
    assert.equal(s.get('watchpost_dependency_tls_cert_expiry_timestamp_seconds{name="web"}'), undefined);
    assert.equal(
      s.get('watchpost_dependency_tls_cert_expiry_timestamp_seconds{name="tls-verify"}'),
      undefined,
      'no handshake, no expiry',
    );
  });

  it('exports the slow threshold from config and a duration for every target', () => {
    assert.equal(s.get('watchpost_dependency_slow_threshold_seconds{name="slow"}'), 0.25);
    assert.equal(s.get('watchpost_dependency_slow_threshold_seconds{name="web"}'), 1);
    const durations = [...s.keys()].filter((k) => k.startsWith('watchpost_dependency_duration_seconds'));
    assert.equal(durations.length, 18);
  });

  it('keeps the last success across runs and moves the failure reason', async () => {
    const h = `http://127.0.0.1:${httpPort}`;
    const cfg = config(`      - { name: flappy, kind: http, url: "${h}/" }\n`);
    const c = new DependenciesCollector({ config: cfg, log: silentLogger });
    await runOnce(c);
    const first = (await samples(c)).get(
      'watchpost_dependency_last_success_timestamp_seconds{name="flappy"}',
    )!;
    assert.ok(first > 0);
    // Point the same target at the closed port: the last success stays, the reason shows.
    const target = (c as unknown as { targets: { probe: { url: string } }[] }).targets[0]!;
    target.probe.url = `http://127.0.0.1:${closedPort}/`;
    await runOnce(c);
    const after = await samples(c);
    assert.equal(after.get('watchpost_dependency_up{name="flappy",kind="http"}'), 0);
    assert.equal(after.get('watchpost_dependency_last_success_timestamp_seconds{name="flappy"}'), first);
    assert.deepEqual(reasons(after, 'flappy'), ['connect']);
    target.probe.url = `${h}/down`;
    await runOnce(c);
    assert.deepEqual(reasons(await samples(c), 'flappy'), ['status'], 'only the current reason');
  });
});

describe('dependencies: header values and tokens never leak', () => {
  it('sends them, and no message, metric or /health/deep answer contains them', async () => {
    const h = `http://127.0.0.1:${httpPort}`;
    const auth = `headers: { X-Api-Key: "${HEADER_SECRET}" }, bearer_token_file: token`;
    const cfg = config(
      [
        `      - { name: auth-ok, kind: http, url: "${h}/auth", ${auth} }`,
        `      - { name: auth-status, kind: http, url: "${h}/auth", ${auth}, valid_status: [204] }`,
        `      - { name: auth-body, kind: http, url: "${h}/auth", ${auth}, body_regex: nomatch }`,
        `      - { name: auth-refused, kind: http, url: "http://127.0.0.1:${closedPort}/", ${auth} }`,
        `      - { name: auth-hang, kind: http, url: "http://127.0.0.1:${hangPort}/", ${auth}, probe_timeout: 300ms }`,
        `      - { name: auth-tls, kind: https, url: "https://127.0.0.1:${httpsPort}/auth", ${auth} }`,
        '',
      ].join('\n'),
    );
    const c = new DependenciesCollector({ config: cfg, log: silentLogger });
    await runOnce(c);
    const health = c.health();
    assert.equal(health.body.dependencies.find((d) => d.name === 'auth-ok')?.up, true, 'the server got both');
    assert.equal(health.body.dependencies.filter((d) => !d.up).length, 5);
    const text = JSON.stringify(health) + served.get(c);
    assert.doesNotMatch(text, new RegExp(HEADER_SECRET));
    assert.doesNotMatch(text, new RegExp(TOKEN_SECRET));
  });

  it('scrub() hides header values and the token inside a message', async () => {
    const { Secret } = await import('../../../internal/secret.js');
    const msg = scrub(`got Bearer ${TOKEN_SECRET} and ${HEADER_SECRET}`, {
      headers: { 'x-api-key': HEADER_SECRET },
      bearerToken: new Secret(TOKEN_SECRET),
    });
    assert.equal(msg, 'got Bearer <redacted> and <redacted>');
  });
});

describe('GET /health/deep', () => {
  async function start(targets: string): Promise<{ exporter: ExporterHandle; base: string }> {
    const exporter = await startExporter({ config: config(targets), log: silentLogger, version: 'test' });
    return { exporter, base: `http://127.0.0.1:${exporter.address.port}` };
  }

  async function deep(
    base: string,
    until?: (b: DeepHealth) => boolean,
  ): Promise<{ status: number; body: DeepHealth }> {
    const end = Date.now() + 10_000;
    for (;;) {
      const res = await fetch(`${base}/health/deep`);
      const body = (await res.json()) as DeepHealth;
      if (!until || until(body) || Date.now() > end) return { status: res.status, body };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('200 with every dependency up, from the last run', async () => {
    const { exporter, base } = await start(
      `      - { name: web, kind: http, url: "http://127.0.0.1:${httpPort}/" }\n      - { name: tls, kind: https, url: "https://127.0.0.1:${httpsPort}/", tls_verify: false }\n`,
    );
    try {
      const { status, body } = await deep(base, (b) => b.checkedAt !== null);
      assert.equal(status, 200);
      assert.equal(body.status, 'up');
      assert.ok(Math.abs(Date.parse(body.checkedAt!) - Date.now()) < 10_000);
      assert.deepEqual(
        body.dependencies.map((d) => [d.name, d.kind, d.up, d.reason]),
        [
          ['web', 'http', true, null],
          ['tls', 'https', true, null],
        ],
      );
      const tls = body.dependencies[1]!;
      assert.ok(Math.abs(Date.parse(tls.certExpiry!) / 1000 - certNotAfter) < 60);
      assert.ok(tls.lastSuccess !== null && tls.durationSeconds >= 0);
      assert.equal(body.dependencies[0]!.certExpiry, null);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^watchpost_dependency_up\{name="web",kind="http"\} 1$/m);
    } finally {
      await exporter.close();
    }
  });

  it('503 when one is down, naming it and why; 503 with a message before the first run', async () => {
    const { exporter, base } = await start(
      `      - { name: web, kind: http, url: "http://127.0.0.1:${httpPort}/" }\n      - { name: hang, kind: http, url: "http://127.0.0.1:${hangPort}/", probe_timeout: 1s }\n`,
    );
    try {
      // The first run waits on the hanging server for 1s: the answer does not.
      const t0 = Date.now();
      const first = await fetch(`${base}/health/deep`);
      assert.ok(Date.now() - t0 < 500, 'never waits on a probe');
      assert.equal(first.status, 503);
      const firstBody = (await first.json()) as DeepHealth;
      assert.equal(firstBody.checkedAt, null);
      assert.match(firstBody.message!, /not been checked yet/);
      const { status, body } = await deep(base, (b) => b.checkedAt !== null);
      assert.equal(status, 503);
      assert.equal(body.status, 'down');
      const hang = body.dependencies.find((d) => d.name === 'hang')!;
      assert.equal(hang.up, false);
      assert.equal(hang.reason, 'timeout');
      assert.match(hang.message, /no answer within 1s/);
      assert.equal(hang.lastSuccess, null);
      assert.equal(body.dependencies.find((d) => d.name === 'web')!.up, true);
    } finally {
      await exporter.close();
    }
  });

  it('200 with an empty list when no dependency is configured', async () => {
    const exporter = await startExporter({
      config: parseConfigText('exporter:\n  listen: 127.0.0.1:0\n', 't.yml', {}),
      log: silentLogger,
      version: 'test',
      collectors: [],
    });
    try {
      const res = await fetch(`http://127.0.0.1:${exporter.address.port}/health/deep`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as DeepHealth;
      assert.equal(body.status, 'up');
      assert.deepEqual(body.dependencies, []);
    } finally {
      await exporter.close();
    }
  });
});
