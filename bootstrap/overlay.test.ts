import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { requireBinary } from '../internal/testing/helpers.js';
import { DEFAULT_OVERLAY_OPTIONS, GENERATED_SECRETS, renderOverlay } from './overlay.js';

const ROOT = join(import.meta.dirname, '..');

interface Service {
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  pids_limit?: number;
  mem_limit?: string;
  restart?: string;
  healthcheck?: { test: string[] };
  logging?: { options: Record<string, string> };
  ports?: string[];
  secrets?: string[];
  group_add?: string[];
  networks?: string[] | Record<string, unknown>;
  profiles?: string[];
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
}

const networksOf = (s: Service) => (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {}));

describe('overlay: docker-compose.monitoring.yml', () => {
  it('the committed file is the renderer with default parameters (npm run gen:overlay after a change)', () => {
    assert.equal(
      readFileSync(join(ROOT, 'docker-compose.monitoring.yml'), 'utf8'),
      renderOverlay(DEFAULT_OVERLAY_OPTIONS),
    );
  });

  it('every service is hardened: non-root, read-only, no capabilities, limits, healthcheck, rotated logs', () => {
    const doc = parse(renderOverlay(DEFAULT_OVERLAY_OPTIONS), { merge: true }) as {
      services: Record<string, Service>;
    };
    assert.deepEqual(Object.keys(doc.services).sort(), [
      'watchpost-alertmanager',
      'watchpost-docker-proxy',
      'watchpost-exporter',
      'watchpost-grafana',
      'watchpost-notifier',
      'watchpost-prometheus',
    ]);
    for (const [name, s] of Object.entries(doc.services)) {
      assert.match(s.user ?? '', /^[1-9]\d*:\d+$/, `${name}: a fixed non-root uid:gid`);
      assert.equal(s.read_only, true, name);
      assert.deepEqual(s.cap_drop, ['ALL'], name);
      assert.deepEqual(s.security_opt, ['no-new-privileges:true'], name);
      assert.ok((s.pids_limit ?? 0) > 0, name);
      assert.match(s.mem_limit ?? '', /^\d+[mg]$/, name);
      assert.equal(s.restart, 'unless-stopped', name);
      assert.equal(s.healthcheck?.test[0], 'CMD', name);
      assert.equal(s.logging?.options['max-size'], '10m', name);
      if (name !== 'watchpost-grafana') assert.equal(s.ports, undefined, `${name} publishes nothing`);
      assert.ok(networksOf(s).includes('watchpost-monitoring'), `${name} on the internal network`);
    }
    const svc = doc.services;
    assert.deepEqual(svc['watchpost-grafana']!.ports, [
      '${GRAFANA_BIND:-127.0.0.1}:${GRAFANA_PORT:-3000}:3000',
    ]);
    // Only the exporter joins the app's network; only the notifier (and Grafana, to publish) leave the internal one.
    assert.deepEqual(networksOf(svc['watchpost-exporter']!).sort(), ['default', 'watchpost-monitoring']);
    assert.deepEqual(networksOf(svc['watchpost-notifier']!).sort(), [
      'watchpost-egress',
      'watchpost-monitoring',
    ]);
    assert.deepEqual(networksOf(svc['watchpost-prometheus']!), ['watchpost-monitoring']);
    assert.deepEqual(networksOf(svc['watchpost-alertmanager']!), ['watchpost-monitoring']);
    assert.deepEqual(networksOf(svc['watchpost-docker-proxy']!), ['watchpost-monitoring']);
    assert.deepEqual(svc['watchpost-docker-proxy']!.profiles, ['docker-proxy'], 'optional');
    // Each service gets only the secrets it reads.
    assert.deepEqual(svc['watchpost-exporter']!.secrets, ['watchpost_metrics_token']);
    assert.deepEqual(svc['watchpost-notifier']!.secrets, ['watchpost_notifier_token']);
    assert.deepEqual(svc['watchpost-prometheus']!.secrets, [
      'watchpost_metrics_token',
      'watchpost_notifier_token',
    ]);
    assert.deepEqual(svc['watchpost-alertmanager']!.secrets, ['watchpost_notifier_token']);
    assert.deepEqual(svc['watchpost-grafana']!.secrets, ['watchpost_grafana_admin_password']);
    // The socket is read-only, and the host's / too.
    const binds = svc['watchpost-exporter']!.volumes!.filter((v) => typeof v === 'object');
    for (const v of binds) assert.equal(v.read_only, true, `${v.source} read-only`);
  });

  it('adapts to the app: its networks, the secrets group, the optional Slack and SMTP secrets', () => {
    const text = renderOverlay({
      ...DEFAULT_OVERLAY_OPTIONS,
      appNetworks: ['backend', 'frontend'],
      secretsGid: 1234,
      dockerGid: 998,
      optionalSecrets: ['slack_webhook_url', 'smtp_password'],
    });
    const doc = parse(text, { merge: true }) as {
      services: Record<string, Service>;
      networks: Record<string, unknown>;
      secrets: Record<string, { file: string }>;
    };
    const exporter = doc.services['watchpost-exporter']!;
    assert.deepEqual(networksOf(exporter).sort(), ['backend', 'frontend', 'watchpost-monitoring']);
    assert.ok('backend' in doc.networks && 'frontend' in doc.networks);
    assert.deepEqual(exporter.group_add, ['${WATCHPOST_SECRETS_GID:-1234}', '${WATCHPOST_DOCKER_GID:-998}']);
    assert.deepEqual(doc.services['watchpost-notifier']!.secrets, [
      'watchpost_notifier_token',
      'watchpost_slack_webhook_url',
      'watchpost_smtp_password',
    ]);
    assert.deepEqual(
      Object.keys(doc.secrets).sort(),
      [
        ...GENERATED_SECRETS.map((s) => `watchpost_${s}`),
        'watchpost_slack_webhook_url',
        'watchpost_smtp_password',
      ].sort(),
    );
    assert.equal(doc.secrets.watchpost_smtp_password!.file, './watchpost/secrets/smtp_password');
  });

  it('docker-compose accepts it merged with an app (and so the user-facing `config` shows it)', (t) => {
    const bin = requireBinary(t, 'docker-compose');
    if (!bin) return;
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-overlay-config-'));
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  app:\n    image: busybox:1\n');
    writeFileSync(join(dir, 'docker-compose.monitoring.yml'), renderOverlay(DEFAULT_OVERLAY_OPTIONS));
    mkdirSync(join(dir, 'watchpost', 'secrets'), { recursive: true });
    const r = spawnSync(
      bin,
      ['-p', 'wpconfigcheck', '-f', 'docker-compose.yml', '-f', 'docker-compose.monitoring.yml', 'config'],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, WATCHPOST_DOCKER_GID: '' } },
    );
    assert.equal(r.status, 0, r.stderr);
    const merged = parse(r.stdout) as {
      services: Record<string, Service & { group_add: (string | number)[] }>;
    };
    assert.ok(merged.services.app && merged.services['watchpost-exporter']);
    // An empty variable falls back to the default, as ${VAR:-default} does.
    assert.deepEqual(merged.services['watchpost-exporter']!.group_add.map(String), ['10001', '999']);
  });
});
