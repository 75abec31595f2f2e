import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../internal/log.js';
import { makeCa } from '../internal/testing/certs.js';
import { freePort, requireBinary, skipWithout } from '../internal/testing/helpers.js';
import { startWriteProxy, type WriteProxyHandle } from './write-proxy.js';

const TOKEN = 'push-token-0c1d2e3f4a5b';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A stand-in for the receiver's HTTP side: records what reaches it and answers 204 as Prometheus does. */
async function upstream(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function send(
  port: number,
  o: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer; ca?: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (o.ca ? httpsRequest : httpRequest)(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'POST',
        path: o.path ?? '/api/v1/write',
        headers: o.headers ?? {},
        ...(o.ca ? { ca: o.ca } : {}),
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const WRITE_HEADERS = {
  authorization: `Bearer ${TOKEN}`,
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};

describe('write-proxy: the push token in front of the remote-write receiver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-wproxy-'));
  const lines: string[] = [];
  let up: Awaited<ReturnType<typeof upstream>>;
  let proxy: WriteProxyHandle;
  before(async () => {
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    up = await upstream();
    proxy = await startWriteProxy({
      listen: '127.0.0.1:0',
      upstream: up.url,
      tokenFile: join(dir, 'token'),
      log: createLogger({ level: 'info', write: (l) => lines.push(l) }),
    });
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  it('forwards a push with the token: the same bytes and remote-write headers, not the token', async () => {
    const body = randomBytes(70_000);
    const r = await send(proxy.address.port, { headers: WRITE_HEADERS, body });
    assert.equal(r.status, 204);
    const got = up.seen.at(-1)!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/api/v1/write');
    assert.ok(got.body.equals(body));
    assert.equal(got.headers['content-encoding'], 'snappy');
    assert.equal(got.headers['content-type'], 'application/x-protobuf');
    assert.equal(got.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(got.headers.authorization, undefined);
  });

  it('refuses a push without the token or with another one, and never logs the token sent', async () => {
    const before = up.seen.length;
    const none = await send(proxy.address.port, { headers: { 'content-type': 'application/x-protobuf' } });
    assert.equal(none.status, 401);
    const wrong = await send(proxy.address.port, {
      headers: { ...WRITE_HEADERS, authorization: 'Bearer not-the-push-token-123' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(up.seen.length, before, 'nothing reached the receiver');
    assert.ok(lines.some((l) => /write-proxy refused a push/.test(l) && /wrong bearer token/.test(l)));
    assert.ok(!lines.some((l) => l.includes('not-the-push-token-123') || l.includes(TOKEN)));
  });

  it('serves nothing but POST /api/v1/write, even with the token: no query or admin API', async () => {
    const before = up.seen.length;
    for (const [method, path] of [
      ['GET', '/api/v1/query?query=up'],
      ['POST', '/api/v1/admin/tsdb/delete_series?match[]=up'],
      ['POST', '/-/quit'],
      ['GET', '/api/v1/write'],
      ['POST', '/api/v1/write/../admin/tsdb/snapshot'],
    ] as const) {
      const r = await send(proxy.address.port, { method, path, headers: WRITE_HEADERS });
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    assert.equal(up.seen.length, before);
    assert.equal((await send(proxy.address.port, { method: 'GET', path: '/-/healthy' })).status, 200);
  });

  it('answers 503 while the receiver is down, so the agent keeps the samples and retries', async () => {
    const port = await freePort();
    const down = await startWriteProxy({
      listen: '127.0.0.1:0',
      upstream: `http://127.0.0.1:${port}`,
      tokenFile: join(dir, 'token'),
      log: createLogger({ level: 'error', write: () => {} }),
    });
    try {
      const r = await send(down.address.port, { headers: WRITE_HEADERS, body: Buffer.from('x') });
      assert.equal(r.status, 503);
    } finally {
      await down.close();
    }
  });

  it('refuses to start without a token', async () => {
    writeFileSync(join(dir, 'empty'), '\n', { mode: 0o600 });
    await assert.rejects(
      startWriteProxy({
        listen: '127.0.0.1:0',
        upstream: up.url,
        tokenFile: join(dir, 'empty'),
        log: createLogger({ level: 'error', write: () => {} }),
      }),
      /push token file ".*empty" is empty/,
    );
  });
});

describe('write-proxy: HTTPS', { skip: skipWithout('openssl') }, () => {
  it('serves the push over TLS with the given certificate', async (t) => {
    const openssl = requireBinary(t, 'openssl');
    if (!openssl) return;
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-wproxy-tls-'));
    const ca = makeCa(openssl, dir);
    const cert = ca.issue('write-proxy');
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    const up = await upstream();
    const proxy = await startWriteProxy({
      listen: '127.0.0.1:0',
      upstream: up.url,
      tokenFile: join(dir, 'token'),
      tls: { certFile: cert.certFile, keyFile: cert.keyFile },
      log: createLogger({ level: 'error', write: () => {} }),
    });
    try {
      const caPem = readFileSync(ca.caFile, 'utf8');
      const r = await send(proxy.address.port, {
        headers: WRITE_HEADERS,
        body: Buffer.from('abc'),
        ca: caPem,
      });
      assert.equal(r.status, 204);
      assert.equal(up.seen.at(-1)!.body.toString(), 'abc');
      // Plain HTTP gets no answer from a TLS port.
      await assert.rejects(send(proxy.address.port, { headers: WRITE_HEADERS }));
    } finally {
      await proxy.close();
      await up.close();
    }
  });

  it("warns about a group-readable key, unless that group is the overlay's secrets group", async (t) => {
    const openssl = requireBinary(t, 'openssl');
    if (!openssl) return;
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-wproxy-key-'));
    const cert = makeCa(openssl, dir).issue('write-proxy');
    chmodSync(cert.keyFile, 0o640);
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    const gid = statSync(cert.keyFile).gid;
    for (const secretsGroup of [undefined, gid]) {
      const lines: string[] = [];
      const proxy = await startWriteProxy({
        listen: '127.0.0.1:0',
        upstream: 'http://127.0.0.1:1',
        tokenFile: join(dir, 'token'),
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        ...(secretsGroup !== undefined ? { secretsGroup } : {}),
        log: createLogger({ level: 'info', write: (l) => lines.push(l) }),
      });
      await proxy.close();
      const warned = lines.some((l) => /unsafe config/.test(l) && /TLS key file/.test(l));
      assert.equal(warned, secretsGroup === undefined, `secretsGroup ${secretsGroup}: ${lines.join('')}`);
    }
  });
});
