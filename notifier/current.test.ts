import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { notifierSchema } from '../config/notifier-schema.js';
import { eventually, freePort, requireBinary } from '../internal/testing/helpers.js';
import { captureLogger, resolvedPayload, startFakeSlack } from './fixtures/fakes.js';
import { formatValue, valueExpression } from './current.js';
import { startNotifier } from './run.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the value part of an alert expression: the left-hand side of its comparison', () => {
  assert.equal(
    valueExpression('disk_used_ratio{mountpoint!~"/a|/b"} > 0.9'),
    'disk_used_ratio{mountpoint!~"/a|/b"}',
  );
  assert.equal(
    valueExpression('(1 - avail / size) * 100 >= on(mountpoint) group_left threshold'),
    '(1 - avail / size) * 100',
  );
  assert.equal(
    valueExpression('time() - last_success_timestamp > max_age'),
    'time() - last_success_timestamp',
  );
  assert.equal(valueExpression('x{a=">"} != 0'), 'x{a=">"}');
  assert.equal(valueExpression('up == 0'), 'up');
  assert.equal(valueExpression('vector(1)'), undefined, 'no comparison: no value (Watchdog)');
  assert.equal(valueExpression('a and b > 1'), undefined, 'the first operand has no comparison');
  assert.equal(valueExpression('a > 1 and deriv(a[10m]) > 0'), 'a');
  assert.equal(formatValue('0.715342'), '0.7153');
  assert.equal(formatValue('97'), '97');
  assert.equal(formatValue('NaN'), 'NaN');
});

test('a resolved message shows the value now, queried from a real Prometheus; without it, no value', async (t) => {
  const prometheus = requireBinary(t, 'prometheus');
  if (!prometheus) return;
  // What Prometheus scrapes: the disk is at 71.5 % now.
  const target = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(
      'disk_used_percent{mountpoint="/srv",device="/dev/sda1"} 71.5\ndisk_used_percent{mountpoint="/var",device="/dev/sda2"} 12\n',
    );
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => target.close(() => r())));
  const targetPort = (target.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-current-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: watchpost',
      `    static_configs: [{ targets: ['127.0.0.1:${targetPort}'], labels: { instance: 'host1:9850' } }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const proc = spawn(
    prometheus,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  cleanups.push(async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
  });
  const promUrl = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      try {
        const r = await fetch(`${promUrl}/api/v1/query?query=disk_used_percent`);
        const body = (await r.json()) as { data?: { result?: unknown[] } };
        return (body.data?.result?.length ?? 0) === 2 || undefined;
      } catch {
        return undefined;
      }
    },
    60_000,
    'prometheus scraped the target',
  );

  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  writeFileSync(join(dir, 'token'), 'current-token-0123456789abcdef');
  writeFileSync(join(dir, 'slack'), slack.url);
  const { log } = captureLogger();
  const n = await startNotifier({
    config: notifierSchema({ baseDir: dir }).parse({
      listen: '127.0.0.1:0',
      bearer_token_file: 'token',
      state_dir: 'state',
      prometheus_url: promUrl,
      channels: [{ name: 'slack', type: 'slack', slack: { webhook_url_file: 'slack' } }],
    }),
    log,
  });
  cleanups.push(() => n.close());
  const post = (body: unknown) =>
    fetch(`${n.url}/alerts`, {
      method: 'POST',
      headers: { Authorization: 'Bearer current-token-0123456789abcdef', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const resolved = resolvedPayload();
  resolved.alerts[0]!.generatorURL = `http://prometheus.example:9090/graph?g0.expr=${encodeURIComponent('disk_used_percent > 90')}&g0.tab=1`;
  assert.equal((await post(resolved)).status, 200);
  // An expression without a comparison: no current value, and the firing value is not shown as current.
  const other = resolvedPayload();
  other.groupKey = 'other';
  other.alerts[0]!.generatorURL = `http://prometheus.example:9090/graph?g0.expr=${encodeURIComponent('vector(1)')}`;
  assert.equal((await post(other)).status, 200);
  await eventually(() => slack.received.length === 2 || undefined, 20_000, 'two resolved messages');
  const text = (i: number) => (slack.received[i]!.body.blocks[1] as { text: { text: string } }).text.text;
  assert.match(text(0), /\*Value now:\* 71\.5\n\*Value when it fired:\* 93%/);
  assert.match(text(0), /No longer: Disk \/srv is 93% full on host1/);
  assert.doesNotMatch(text(1), /Value now/);
  assert.match(text(1), /\*Value when it fired:\* 93%/);
});
