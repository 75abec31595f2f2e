import assert from 'node:assert/strict';
import { get, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseConfigText } from '../config/load.js';
import { silentLogger } from '../internal/log.js';
import { startExporter, type ExporterHandle } from './run.js';

describe('exporter HTTP routes', () => {
  let exporter: ExporterHandle;
  let base: string;

  before(async () => {
    exporter = await startExporter({
      config: parseConfigText('exporter: { listen: "127.0.0.1:0" }', 'watchpost.yml', {}, '/'),
      log: silentLogger,
      version: 'test',
      collectors: [],
    });
    base = `http://127.0.0.1:${exporter.address.port}`;
  });
  after(() => exporter.close());

  /** The bytes as Prometheus gets them (fetch() would ask for gzip and decompress on its own). */
  const getRaw = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      get(`${base}${path}`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      }).on('error', reject);
    });

  it('GET /metrics: the exposition, plain or gzip, never cached', async () => {
    const plain = await getRaw('/metrics', {});
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(plain.headers['cache-control'], 'no-store');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.match(plain.body.toString('utf8'), /^watchpost_exporter_build_info\{version="test",/m);
    assert.equal(Number(plain.headers['content-length']), plain.body.length);

    const gz = await getRaw('/metrics', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers['vary'], 'Accept-Encoding');
    assert.equal(Number(gz.headers['content-length']), gz.body.length);
    assert.deepEqual(gunzipSync(gz.body), plain.body);
  });

  it('answers as it did under express: query strings, one trailing slash and case are ignored', async () => {
    for (const path of ['/metrics?x=1', '/metrics/', '/METRICS', '/-/healthy/', '/-/ready?verbose']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }
    const healthy = await fetch(`${base}/-/healthy`);
    assert.equal(healthy.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await healthy.text(), 'watchpost exporter is healthy.\n');
    const page = await fetch(`${base}/`);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await page.text(), /href="metrics"/);
  });

  it('HEAD gets the headers of GET without a body', async () => {
    const res = await fetch(`${base}/metrics`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers.get('content-length')) > 0);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  it('/health/deep without dependencies: 200 JSON saying nothing is checked', async () => {
    const res = await fetch(`${base}/health/deep`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await res.json(), {
      status: 'up',
      checkedAt: null,
      message: 'no dependencies are checked',
      dependencies: [],
    });
  });

  it('other paths and methods: 404 pointing at the status page', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/metrics'],
      ['DELETE', '/'],
      ['GET', '/metrics//'],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(await res.text(), 'not found; see / for what this exporter serves\n');
    }
  });

  it('does not say what serves it', async () => {
    const res = await fetch(`${base}/`);
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-powered-by'), null);
    assert.equal(res.headers.get('etag'), null);
  });
});
