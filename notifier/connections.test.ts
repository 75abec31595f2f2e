import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { notifierSchema } from '../config/notifier-schema.js';
import { ConnectionFlood } from '../internal/testing/flood.js';
import { captureLogger, eventually, samplePayload } from './fixtures/fakes.js';
import { startNotifier } from './run.js';

const TOKEN = 'tok-' + 'c3'.repeat(20);
const base = mkdtempSync(join(tmpdir(), 'watchpost-notifier-conn-'));
after(() => rmSync(base, { recursive: true, force: true }));
writeFileSync(join(base, 'token'), `${TOKEN}\n`, { mode: 0o600 });

async function start(raw: Record<string, unknown>, fileLimit?: number) {
  const config = notifierSchema({ baseDir: base }).parse({
    listen: '127.0.0.1:0',
    bearer_token_file: join(base, 'token'),
    state_dir: mkdtempSync(join(base, 'state-')),
    ...raw,
  });
  const cap = captureLogger();
  const n = await startNotifier({ config, log: cap.log, ...(fileLimit ? { fileLimit } : {}) });
  return { n, logText: cap.text };
}

describe('notifier connections', () => {
  it('a flood of idle connections keeps at most max_connections, and Alertmanager still gets in', async () => {
    const { n } = await start({ max_connections: 16 });
    const flood = new ConnectionFlood(n.address.port, { total: 1000, batch: 100, maxMs: 60_000 });
    try {
      await flood.done;
      // The client may see a connection before the server has accepted it.
      await eventually(
        () => (n.connections.evicted() >= 1000 - 16 ? true : undefined),
        20_000,
        'the server to accept and evict the flood',
      );
      assert.ok(n.connections.open() <= 16, `${n.connections.open()} connections open`);
      const res = await fetch(`${n.url}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(samplePayload()),
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { status: string }).status, 'accepted');
      // The server closed what it evicted: those hold no descriptor on either side.
      await eventually(
        () => (flood.closedByServer >= 1000 - 16 ? true : undefined),
        20_000,
        'the evicted connections to be closed by the server',
      );
    } finally {
      await flood.stop();
      await n.close();
    }
  });

  it('lowers max_connections to fit under the open-file limit, with a warning saying how to fix it', async () => {
    const { n, logText } = await start({}, 100);
    try {
      // 100 files minus Node's 64, 4 for the outbox and heartbeat, 2 for the one log channel.
      assert.equal(n.connections.max, 30);
      assert.match(
        logText(),
        /level=warn msg="notifier\.max_connections lowered from 256 to 30: this process may open 100 files/,
      );
    } finally {
      await n.close();
    }
  });

  it('keeps the configured cap when the limit leaves room', async () => {
    const { n, logText } = await start({ max_connections: 64 }, 20_000);
    try {
      assert.equal(n.connections.max, 64);
      assert.doesNotMatch(logText(), /max_connections lowered/);
    } finally {
      await n.close();
    }
  });
});
