import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../config/load.js';
import { silentLogger } from '../internal/log.js';
import type { Collector } from './collector.js';
import { startExporter, type ExporterHandle } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-server-safety-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'token'), 'a-metrics-token-of-enough-length\n', { mode: 0o600 });
const TOKEN = 'a-metrics-token-of-enough-length';

/** A collector that always fails with an error naming an internal address. */
const failing: Collector = {
  name: 'streams',
  families: [],
  collect: () => Promise.reject(new Error('mediamtx server "cams": connect ECONNREFUSED 10.20.30.40:9997')),
};

async function start(
  yaml: string,
  collectors = [failing],
): Promise<{ exporter: ExporterHandle; base: string }> {
  const exporter = await startExporter({
    config: parseConfigText(yaml, 'watchpost.yml', {}, dir),
    log: silentLogger,
    version: 'test',
    collectors: collectors.map((collector) => ({
      collector,
      settings: { enabled: true, interval: 60_000, timeout: 5_000 },
    })),
  });
  return { exporter, base: `http://127.0.0.1:${exporter.address.port}` };
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('with exporter.bearer_token_file set', () => {
  it('/health/deep requires the token, like /metrics', async () => {
    const { exporter, base } = await start('exporter: { listen: "127.0.0.1:0", bearer_token_file: token }');
    try {
      const open = await fetch(`${base}/health/deep`);
      assert.equal(open.status, 401);
      assert.equal(await open.text(), 'unauthorized\n');
      const wrong = await fetch(`${base}/health/deep`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      const ok = await fetch(`${base}/health/deep`, { headers: auth });
      assert.equal(ok.status, 200);
      // /, /-/healthy and /-/ready stay open.
      for (const path of ['/', '/-/healthy']) assert.equal((await fetch(`${base}${path}`)).status, 200, path);
      assert.notEqual((await fetch(`${base}/-/ready`)).status, 401);
    } finally {
      await exporter.close();
    }
  });

  it('/ shows collector errors (internal addresses) only to a request with the token', async () => {
    const { exporter, base } = await start('exporter: { listen: "127.0.0.1:0", bearer_token_file: token }');
    try {
      let page = '';
      for (let i = 0; i < 200 && !page.includes('failed</td>'); i++) {
        page = await (await fetch(`${base}/`)).text();
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.match(page, /<td>failed<\/td>/);
      assert.ok(!page.includes('10.20.30.40'), 'the open page names no internal address');
      assert.match(page, /hidden: send the bearer token/);
      const full = await (await fetch(`${base}/`, { headers: auth })).text();
      assert.ok(full.includes('10.20.30.40:9997'), 'the error is there with the token');
    } finally {
      await exporter.close();
    }
  });
});

describe('a flood of idle connections', () => {
  it('keeps at most max_connections open, and /metrics still answers', async () => {
    const { exporter, base } = await start('exporter: { listen: "127.0.0.1:0", max_connections: 32 }', []);
    const sockets: Socket[] = [];
    try {
      // 2000 connections that never send a byte (bounded: opened in batches, all closed at the end).
      let closedByServer = 0;
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          Array.from(
            { length: 100 },
            () =>
              new Promise<void>((resolve) => {
                const s = connect(exporter.address.port, '127.0.0.1');
                sockets.push(s);
                s.on('error', () => {});
                s.once('close', () => closedByServer++);
                s.once('connect', () => resolve());
                s.once('close', () => resolve());
              }),
          ),
        );
      }
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^watchpost_exporter_build_info\{/m);
      assert.ok(exporter.connections.open() <= 32, `${exporter.connections.open()} connections open`);
      assert.ok(exporter.connections.evicted() >= 2000 - 32, `${exporter.connections.evicted()} evicted`);
      // The server closed the evicted ones: they hold no descriptor on either side.
      for (let i = 0; i < 200 && closedByServer < 2000 - 32; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(closedByServer >= 2000 - 32, `${closedByServer} closed by the server`);
    } finally {
      for (const s of sockets) s.destroy();
      await exporter.close();
    }
  });
});
