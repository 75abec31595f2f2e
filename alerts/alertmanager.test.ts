import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, requireBinary } from '../test/e2e/helpers.js';

const CONFIG = join(import.meta.dirname, 'alertmanager.yml');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Received {
  path: string;
  auth: string | undefined;
  body: { status: string; receiver: string; alerts: { status: string; labels: Record<string, string> }[] };
}

describe('alertmanager.yml', () => {
  it('amtool check-config accepts it', (t) => {
    const amtool = requireBinary(t, 'amtool');
    if (!amtool) return;
    const r = spawnSync(amtool, ['check-config', CONFIG], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('routes Watchdog to the heartbeat only, and every severity to the notifier', (t) => {
    const amtool = requireBinary(t, 'amtool');
    if (!amtool) return;
    const route = (...labels: string[]) =>
      spawnSync(amtool, ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels], {
        encoding: 'utf8',
      }).stdout.trim();
    assert.equal(route('alertname=Watchdog', 'severity=none'), 'watchpost-heartbeat');
    assert.equal(route('alertname=DiskSpaceLow', 'severity=warning'), 'watchpost-notifier');
    assert.equal(route('alertname=WatchpostExporterDown', 'severity=critical'), 'watchpost-notifier');
    assert.equal(route('alertname=Something', 'severity=info'), 'watchpost-notifier');
  });
});

describe('alertmanager.yml in a real Alertmanager', () => {
  let am: ChildProcess | undefined;
  let receiver: Server;
  let amUrl = '';
  const received: Received[] = [];
  const token = 'test-notifier-token-5b1f';
  let skipped = false;

  before(async (t) => {
    const binary = requireBinary(t as never, 'prometheus-alertmanager');
    if (!binary) {
      skipped = true;
      return;
    }
    receiver = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (d: Buffer) => (data += d.toString()));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          auth: req.headers.authorization,
          body: JSON.parse(data) as Received['body'],
        });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const receiverPort = (receiver.address() as { port: number }).port;

    // The shipped file, with the notifier's compose address and secret path swapped for the test's own.
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-am-'));
    writeFileSync(join(dir, 'token'), `${token}\n`);
    const config = readFileSync(CONFIG, 'utf8')
      .replaceAll('http://watchpost-notifier:9851', `http://127.0.0.1:${receiverPort}`)
      .replaceAll('/run/secrets/watchpost_notifier_token', join(dir, 'token'))
      .replace(/group_wait: \d+[sm]/g, 'group_wait: 0s')
      .replace(/group_interval: \d+[sm]/g, 'group_interval: 1s');
    writeFileSync(join(dir, 'alertmanager.yml'), config);
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    am = spawn(
      binary,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.path=${join(dir, 'data')}`,
        '--cluster.listen-address=',
      ],
      { stdio: 'ignore' },
    );
    await eventually(
      async () => ((await fetch(`${amUrl}/-/ready`)).ok ? true : undefined),
      15_000,
      'alertmanager ready',
    );
  });

  after(async () => {
    am?.kill('SIGTERM');
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  async function post(alerts: { labels: Record<string, string>; endsAt?: string }[]) {
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((a) => ({ annotations: { summary: 'test' }, ...a }))),
    });
    assert.equal(res.status, 200, await res.text());
  }

  it('delivers with the bearer token, sends Watchdog to /heartbeat, and sends resolved notifications', async () => {
    if (skipped) return;
    await post([
      { labels: { alertname: 'Watchdog', severity: 'none' } },
      { labels: { alertname: 'BackupTooOld', severity: 'critical', name: 'pg', instance: 'h2:9850' } },
    ]);
    const heartbeat = await eventually(
      () => received.find((r) => r.path === '/heartbeat'),
      20_000,
      'heartbeat',
    );
    assert.equal(heartbeat.auth, `Bearer ${token}`);
    const alert = await eventually(
      () =>
        received.find(
          (r) => r.path === '/alerts' && r.body.alerts.some((a) => a.labels.alertname === 'BackupTooOld'),
        ),
      20_000,
      'BackupTooOld',
    );
    assert.equal(alert.auth, `Bearer ${token}`);
    assert.ok(
      !received.some(
        (r) => r.path === '/alerts' && r.body.alerts.some((a) => a.labels.alertname === 'Watchdog'),
      ),
    );

    await post([
      {
        labels: { alertname: 'BackupTooOld', severity: 'critical', name: 'pg', instance: 'h2:9850' },
        endsAt: new Date().toISOString(),
      },
    ]);
    await eventually(
      () => received.find((r) => r.path === '/alerts' && r.body.status === 'resolved'),
      20_000,
      'resolved notification',
    );
  });

  it('an exporter that is down mutes the disk alert on the same instance, not on another', async () => {
    if (skipped) return;
    await post([
      {
        labels: {
          alertname: 'WatchpostExporterDown',
          severity: 'critical',
          instance: 'h1:9850',
          job: 'watchpost',
        },
      },
      { labels: { alertname: 'DiskSpaceLow', severity: 'warning', instance: 'h1:9850', mountpoint: '/srv' } },
      { labels: { alertname: 'DiskSpaceLow', severity: 'warning', instance: 'h3:9850', mountpoint: '/srv' } },
    ]);
    const alerts = await eventually(
      async () => {
        const list = (await (
          await fetch(`${amUrl}/api/v2/alerts?filter=alertname%3D%22DiskSpaceLow%22`)
        ).json()) as {
          labels: Record<string, string>;
          status: { state: string; inhibitedBy: string[] };
        }[];
        return list.length === 2 && list.some((a) => a.status.state === 'suppressed') ? list : undefined;
      },
      20_000,
      'inhibition',
    );
    const byInstance = Object.fromEntries(alerts.map((a) => [a.labels.instance, a.status]));
    assert.equal(byInstance['h1:9850']?.state, 'suppressed');
    assert.equal(byInstance['h1:9850']?.inhibitedBy.length, 1);
    assert.equal(byInstance['h3:9850']?.state, 'active');
  });
});
