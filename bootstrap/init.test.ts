import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { main } from '../cli/main.js';
import { loadConfigFile } from '../config/load.js';
import { requireBinary } from '../internal/testing/helpers.js';
import {
  INSTALL_DIR,
  MANIFEST,
  OVERLAY_FILE,
  formatInitResult,
  runInit,
  writeFileAtomic,
  type InitOptions,
} from './init.js';

const APP = `services:
  web:
    image: nginx:1.27
    ports: ["127.0.0.1:8080:80"]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost/"]
  worker:
    image: busybox:1
    command: ["sleep", "infinity"]
    restart: unless-stopped
`;

function app(text = APP): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-init-'));
  writeFileSync(join(dir, 'docker-compose.yml'), text);
  return dir;
}

function opts(dir: string, extra: Partial<InitOptions> = {}): InitOptions {
  return { composeFiles: [], cwd: dir, env: {}, out: () => {}, dockerSocket: '/nonexistent.sock', ...extra };
}

/** Every file under dir (relative path → content), secrets included. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.set(`${prefix}${e.name}`, readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(dir, '');
  return out;
}

describe('init: writing the installation', () => {
  it('writes the overlay, the config, the provisioning and three strong secrets', async () => {
    const dir = app();
    const r = await runInit(opts(dir));
    for (const rel of [
      OVERLAY_FILE,
      `${INSTALL_DIR}/watchpost.yml`,
      `${INSTALL_DIR}/prometheus/prometheus.yml`,
      `${INSTALL_DIR}/prometheus/rules/containers.rules.yml`,
      `${INSTALL_DIR}/alertmanager/alertmanager.yml`,
      `${INSTALL_DIR}/grafana/provisioning/datasources/prometheus.yml`,
      `${INSTALL_DIR}/${MANIFEST}`,
    ]) {
      assert.ok(existsSync(join(dir, rel)), rel);
    }
    assert.ok(statSync(join(dir, INSTALL_DIR, 'grafana', 'dashboards')).isDirectory());
    assert.ok(r.files.every((f) => f.action === 'created'));

    const secretsDir = join(dir, INSTALL_DIR, 'secrets');
    assert.equal(statSync(secretsDir).mode & 0o777, 0o700);
    const values = new Set<string>();
    for (const name of ['metrics_token', 'notifier_token', 'grafana_admin_password']) {
      const st = statSync(join(secretsDir, name));
      assert.equal(st.mode & 0o777, 0o640, `${name} mode`);
      const value = readFileSync(join(secretsDir, name), 'utf8');
      assert.match(value, /^[A-Za-z0-9_-]{43}\n$/, `${name}: 32 random bytes, URL-safe`);
      values.add(value);
    }
    assert.equal(values.size, 3, 'three different secrets');
    assert.deepEqual(readdirSync(secretsDir).sort(), [
      'grafana_admin_password',
      'metrics_token',
      'notifier_token',
    ]);

    // The config loads with its own secrets once they sit where compose mounts them.
    const config = readFileSync(join(dir, INSTALL_DIR, 'watchpost.yml'), 'utf8').replaceAll(
      '/run/secrets/watchpost_',
      `${secretsDir}/`,
    );
    writeFileSync(join(dir, 'w.yml'), config);
    const loaded = loadConfigFile(join(dir, 'w.yml'), {});
    assert.equal(loaded.exporter.listen, '0.0.0.0:9850');
    assert.equal(loaded.notifier.state_dir, '/var/lib/watchpost');
    assert.equal(
      loaded.exporter.bearer_token_file?.reveal(),
      readFileSync(join(secretsDir, 'metrics_token'), 'utf8').trim(),
    );

    // The copies are the shipped files.
    assert.equal(
      readFileSync(join(dir, INSTALL_DIR, 'alertmanager', 'alertmanager.yml'), 'utf8'),
      readFileSync(join(import.meta.dirname, '..', 'alerts', 'alertmanager.yml'), 'utf8'),
    );
  });

  it('never prints a secret', async () => {
    const dir = app();
    let printed = '';
    const code = await main(['init'], {
      out: (t) => (printed += t),
      err: (t) => (printed += t),
      env: {},
      cwd: dir,
    });
    assert.equal(code, 0, printed);
    for (const name of ['metrics_token', 'notifier_token', 'grafana_admin_password']) {
      const value = readFileSync(join(dir, INSTALL_DIR, 'secrets', name), 'utf8').trim();
      assert.ok(!printed.includes(value), `${name} printed`);
    }
    assert.match(printed, /docker compose -f docker-compose\.yml -f docker-compose\.monitoring\.yml up -d/);
    assert.match(printed, /http:\/\/127\.0\.0\.1:3000\//);
    assert.match(printed, /notify-test/);
    assert.match(printed, /slack_webhook_url/);
  });

  it('is idempotent: a second run changes nothing and keeps the secrets', async () => {
    const dir = app();
    await runInit(opts(dir));
    const first = snapshot(dir);
    const mtimes = [...first.keys()].map((k) => statSync(join(dir, k)).mtimeMs);
    const r = await runInit(opts(dir));
    assert.deepEqual(snapshot(dir), first);
    assert.deepEqual(
      [...first.keys()].map((k) => statSync(join(dir, k)).mtimeMs),
      mtimes,
      'not even rewritten',
    );
    assert.ok(r.files.every((f) => f.action === 'unchanged'));
    assert.ok(r.secrets.every((s) => s.action === 'kept'));
    assert.doesNotMatch(formatInitResult(r), /\bwrote\b|generated/);
  });

  it('updates what it wrote when the app changes, and leaves a file the user edited alone (with a diff)', async () => {
    const dir = app();
    await runInit(opts(dir));
    const configPath = join(dir, INSTALL_DIR, 'watchpost.yml');
    const edited = `${readFileSync(configPath, 'utf8')}# my own note\n`;
    writeFileSync(configPath, edited);
    // The app gains a service: the overlay is unchanged, watchpost.yml would change.
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      `${APP}  cache:\n    image: redis:7\n    restart: always\n`,
    );
    const r = await runInit(opts(dir));
    assert.equal(readFileSync(configPath, 'utf8'), edited, 'the edit survives');
    const kept = r.files.find((f) => f.path === `${INSTALL_DIR}/watchpost.yml`)!;
    assert.equal(kept.action, 'kept-edited');
    assert.match(kept.diff!, /^-# my own note$/m);
    assert.match(kept.diff!, /^\+.*compose_service: cache/m);
    assert.match(formatInitResult(r), /--force/);
    // A third run still protects it.
    assert.equal((await runInit(opts(dir))).files.find((f) => f.path === kept.path)!.action, 'kept-edited');

    // --force replaces it, and the manifest then knows the new content.
    const forced = await runInit(opts(dir, { force: true }));
    assert.equal(forced.files.find((f) => f.path === kept.path)!.action, 'overwritten-edited');
    assert.match(readFileSync(configPath, 'utf8'), /compose_service: cache/);
    assert.ok((await runInit(opts(dir))).files.every((f) => f.action === 'unchanged'));
  });

  it("a file it did not write is the user's: not overwritten without --force", async () => {
    const dir = app();
    writeFileSync(join(dir, OVERLAY_FILE), 'services: {}\n');
    const r = await runInit(opts(dir));
    assert.equal(readFileSync(join(dir, OVERLAY_FILE), 'utf8'), 'services: {}\n');
    assert.equal(r.files.find((f) => f.path === OVERLAY_FILE)!.action, 'kept-edited');
  });

  it('keeps a secret the user wrote, tightens its mode, and mounts Slack once its URL is there', async () => {
    const dir = app();
    await runInit(opts(dir));
    const secrets = join(dir, INSTALL_DIR, 'secrets');
    writeFileSync(join(secrets, 'metrics_token'), 'my-own-metrics-token-0123456789abcdef\n');
    chmodSync(join(secrets, 'metrics_token'), 0o644);
    writeFileSync(join(secrets, 'slack_webhook_url'), 'https://hooks.slack.com/services/T/B/X\n', {
      mode: 0o600,
    });
    const r = await runInit(opts(dir));
    assert.equal(
      readFileSync(join(secrets, 'metrics_token'), 'utf8'),
      'my-own-metrics-token-0123456789abcdef\n',
    );
    assert.equal(statSync(join(secrets, 'metrics_token')).mode & 0o777, 0o640);
    assert.equal(statSync(join(secrets, 'slack_webhook_url')).mode & 0o777, 0o640);
    assert.deepEqual(
      r.secrets.filter((s) => s.action === 'mode-fixed').map((s) => s.path),
      [`${INSTALL_DIR}/secrets/metrics_token`, `${INSTALL_DIR}/secrets/slack_webhook_url`],
    );
    const overlay = parse(readFileSync(join(dir, OVERLAY_FILE), 'utf8'), { merge: true }) as {
      services: Record<string, { secrets: string[] }>;
      secrets: Record<string, unknown>;
    };
    assert.deepEqual(overlay.services['watchpost-notifier']!.secrets, [
      'watchpost_notifier_token',
      'watchpost_slack_webhook_url',
    ]);
    assert.ok('watchpost_slack_webhook_url' in overlay.secrets);
    assert.match(
      readFileSync(join(dir, INSTALL_DIR, 'watchpost.yml'), 'utf8'),
      /type: slack, slack: \{ webhook_url_file: \/run\/secrets\/watchpost_slack_webhook_url \}/,
    );
  });

  it('writes atomically: a failed write leaves the old file and no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-atomic-'));
    const target = join(dir, 'secret');
    writeFileAtomic(target, 'one\n', 0o640);
    assert.equal(readFileSync(target, 'utf8'), 'one\n');
    assert.equal(statSync(target).mode & 0o777, 0o640);
    // A folder in the way makes the rename fail after the temporary file was written.
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'inside'), { recursive: true });
    assert.throws(() => writeFileAtomic(blocked, 'two\n', 0o640));
    assert.deepEqual(readdirSync(dir).sort(), ['blocked', 'secret'], 'no temporary file left');
    writeFileAtomic(target, 'three\n', 0o640);
    assert.equal(readFileSync(target, 'utf8'), 'three\n');
    assert.deepEqual(readdirSync(dir).sort(), ['blocked', 'secret']);
  });

  it('a broken compose file is a clear error naming the file, and writes nothing', async () => {
    const dir = app('services:\n  web: [oops\n');
    let err = '';
    const code = await main(['init'], { out: () => {}, err: (t) => (err += t), env: {}, cwd: dir });
    assert.equal(code, 2);
    assert.match(err, /docker-compose\.yml:\d+/);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(join(dir, INSTALL_DIR)));
  });

  it('the result passes `docker-compose config` with the app, and its Prometheus and Alertmanager files their checkers', async (t) => {
    const compose = requireBinary(t, 'docker-compose');
    const promtool = compose && requireBinary(t, 'promtool');
    const amtool = promtool && requireBinary(t, 'amtool');
    if (!compose || !promtool || !amtool) return;
    const dir = app();
    await runInit(opts(dir, { dockerSocket: '/var/run/docker.sock' }));
    const r = spawnSync(
      compose,
      ['-p', 'wpinitcheck', '-f', 'docker-compose.yml', '-f', OVERLAY_FILE, 'config'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const merged = parse(r.stdout) as { services: Record<string, unknown> };
    assert.ok(
      merged.services.web && merged.services['watchpost-exporter'] && merged.services['watchpost-grafana'],
    );

    // promtool and amtool read the secret paths the containers see: point them at the files.
    const install = join(dir, INSTALL_DIR);
    const prom = readFileSync(join(install, 'prometheus', 'prometheus.yml'), 'utf8')
      .replaceAll('/run/secrets/watchpost_', `${install}/secrets/`)
      .replace('/etc/prometheus/rules/', `${install}/prometheus/rules/`);
    writeFileSync(join(dir, 'prom-check.yml'), prom);
    const pc = spawnSync(promtool, ['check', 'config', join(dir, 'prom-check.yml')], { encoding: 'utf8' });
    assert.equal(pc.status, 0, `${pc.stdout}${pc.stderr}`);
    const am = readFileSync(join(install, 'alertmanager', 'alertmanager.yml'), 'utf8').replaceAll(
      '/run/secrets/watchpost_',
      `${install}/secrets/`,
    );
    writeFileSync(join(dir, 'am-check.yml'), am);
    const ac = spawnSync(amtool, ['check-config', join(dir, 'am-check.yml')], { encoding: 'utf8' });
    assert.equal(ac.status, 0, `${ac.stdout}${ac.stderr}`);
  });
});
