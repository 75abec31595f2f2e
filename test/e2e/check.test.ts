import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  copyFileSync,
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
import { renderWatchpostConfig } from '../../bootstrap/detect.js';
import { readCompose } from '../../bootstrap/compose.js';
import { copyFixture, FIXTURES_DIR, fixtureNames, GOLDEN_FINDINGS } from '../../bootstrap/fixture-stacks.js';
import { DEFAULT_OVERLAY_OPTIONS, GENERATED_SECRETS, renderOverlay } from '../../bootstrap/overlay.js';
import { CLI, requireBinary, ROOT } from '../../internal/testing/helpers.js';

/** The built CLI in `cwd`, so findings name files as the user sees them there. */
function check(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, 'check', ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An installation folder as init lays it out, from the repository's shipped files. */
function installation(dir: string): string {
  const w = join(dir, 'watchpost');
  mkdirSync(join(w, 'prometheus', 'rules'), { recursive: true });
  mkdirSync(join(w, 'alertmanager'), { recursive: true });
  copyFileSync(
    join(ROOT, 'provisioning', 'prometheus', 'prometheus.yml'),
    join(w, 'prometheus', 'prometheus.yml'),
  );
  for (const f of readdirSync(join(ROOT, 'alerts')).filter((f) => f.endsWith('.rules.yml')))
    copyFileSync(join(ROOT, 'alerts', f), join(w, 'prometheus', 'rules', f));
  copyFileSync(join(ROOT, 'alerts', 'alertmanager.yml'), join(w, 'alertmanager', 'alertmanager.yml'));
  return w;
}

describe('watchpost check --compose', () => {
  for (const name of fixtureNames()) {
    it(`${name}: --format json prints the golden findings; exit 1 with errors, 0 without`, () => {
      const dir = copyFixture(name);
      const file = readdirSync(dir).find((f) => /^(docker-)?compose\.ya?ml$/.test(f))!;
      const r = check(['--compose', file, '--format', 'json'], dir);
      assert.equal(r.stdout, readFileSync(join(FIXTURES_DIR, name, GOLDEN_FINDINGS), 'utf8'), r.stderr);
      const ok = (JSON.parse(r.stdout) as { ok: boolean }).ok;
      assert.equal(r.status, ok ? 0 : 1);
      assert.equal(ok, name === 'clean');
    });
  }

  it('text output groups by service, explains each rule once, and has no colour off a terminal', () => {
    const dir = copyFixture('django');
    const r = check(['--compose', 'docker-compose.yml'], dir);
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      /^compose project "django" \(docker-compose\.yml\): \d+ errors, \d+ warnings, \d+ info$/m,
    );
    assert.match(r.stdout, /^service db$/m);
    assert.match(
      r.stdout,
      /error {3}docker-compose\.yml:39 {2}Postgres \(container port 5432\) is published on all interfaces/,
    );
    assert.equal(r.stdout.match(/why: Compose's default is `restart: "no"`/g)?.length, 1);
    assert.ok(!r.stdout.includes('\u001b['));
    assert.doesNotMatch(r.stdout, /django-insecure-4f/, 'no secret value in the output');
  });

  it('usage and input errors exit 2 with file:line, never a stack trace', () => {
    const dir = copyFixture('clean');
    const fmt = check(['--compose', 'docker-compose.yml', '--format', 'xml'], dir);
    assert.equal(fmt.status, 2);
    assert.match(fmt.stderr, /unknown --format "xml": expected text or json/);
    const none = check([], dir, { WATCHPOST_CONFIG: '' });
    assert.equal(none.status, 2);
    writeFileSync(join(dir, 'broken.yml'), 'services:\n  web:\n    image: a\n    ports: 80\n');
    const bad = check(['--compose', 'broken.yml'], dir);
    assert.equal(bad.status, 2);
    assert.equal(
      bad.stderr,
      'watchpost: cannot read the compose files:\nbroken.yml:4:12: services.web.ports: expected a list of ports\n',
    );
    const missing = check(['--compose', 'nope.yml', '--format', 'json'], dir);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope\.yml: file does not exist/);
    assert.doesNotMatch(`${bad.stderr}${missing.stderr}`, /\n\s+at /);
  });

  it('the generated watchpost.yml and overlay on the clean app: no errors', () => {
    const dir = copyFixture('clean');
    const w = installation(dir);
    const project = readCompose({ files: [], cwd: dir, env: {} });
    return project.then((p) => {
      writeFileSync(join(w, 'watchpost.yml'), renderWatchpostConfig(p));
      writeFileSync(
        join(dir, 'docker-compose.monitoring.yml'),
        renderOverlay({ ...DEFAULT_OVERLAY_OPTIONS, composeFiles: ['docker-compose.yml'], project: p.name }),
      );
      mkdirSync(join(w, 'secrets'), { recursive: true, mode: 0o700 });
      for (const s of GENERATED_SECRETS) {
        writeFileSync(join(w, 'secrets', s), 'k'.repeat(8) + Math.random().toString(36).repeat(4));
        chmodSync(join(w, 'secrets', s), 0o640);
      }
      const r = check(
        [
          '--config',
          'watchpost/watchpost.yml',
          '--compose',
          'docker-compose.yml',
          '--compose',
          'docker-compose.monitoring.yml',
          '--format',
          'json',
        ],
        dir,
        { PATH: '/nonexistent' },
      );
      const out = JSON.parse(r.stdout) as { ok: boolean; findings: { severity: string; rule: string }[] };
      assert.equal(out.ok, true, r.stdout);
      assert.deepEqual(
        out.findings.filter((f) => f.severity === 'error'),
        [],
      );
      assert.equal(r.status, 0, r.stderr);
    });
  });
});

describe('watchpost init, then watchpost check on the result', () => {
  for (const name of fixtureNames()) {
    it(`${name}: no error in watchpost's own files (config, overlay, Prometheus, Alertmanager, secrets)`, (t) => {
      // The generated config expects containers: without a Docker socket it is (rightly) a config error.
      if (!existsSync('/var/run/docker.sock') && process.env.CI !== 'true') {
        process.stderr.write('\n*** SKIPPED: no Docker socket: run scripts/start-dockerd.sh ***\n\n');
        t.skip('no Docker socket');
        return;
      }
      const dir = copyFixture(name);
      const file = readdirSync(dir).find((f) => /^(docker-)?compose\.ya?ml$/.test(f))!;
      const init = spawnSync(process.execPath, [CLI, 'init', '--compose', file], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(init.status, 0, `${init.stdout}${init.stderr}`);
      const r = check(
        [
          '--config',
          'watchpost/watchpost.yml',
          '--compose',
          file,
          '--compose',
          'docker-compose.monitoring.yml',
          '--format',
          'json',
        ],
        dir,
      );
      assert.equal(r.stderr, '', 'no warning: the secrets init writes are what check expects');
      const out = JSON.parse(r.stdout) as { ok: boolean; findings: { severity: string; file: string }[] };
      const ours = out.findings.filter((f) => f.file !== file && f.file !== '.env');
      assert.deepEqual(
        ours.filter((f) => f.severity === 'error'),
        [],
      );
      // The app's own planted errors are still reported; the clean app passes as a whole.
      assert.equal(r.status, name === 'clean' ? 0 : 1, r.stdout);
    });
  }
});

describe('watchpost check --config', () => {
  it("runs promtool and amtool on the installation's files beside the config", (t) => {
    if (!requireBinary(t, 'promtool') || !requireBinary(t, 'amtool')) return;
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-check-'));
    const w = installation(dir);
    writeFileSync(join(w, 'watchpost.yml'), 'collectors:\n  host:\n    interval: 30s\n');
    const ok = check(['--config', 'watchpost/watchpost.yml'], dir);
    assert.equal(ok.status, 0, `${ok.stdout}${ok.stderr}`);
    assert.match(ok.stdout, /^watchpost\/watchpost\.yml: OK \(collectors: /m);
    assert.match(ok.stdout, /^ {2}promtool watchpost\/prometheus\/prometheus\.yml: OK$/m);
    assert.match(ok.stdout, /^ {2}promtool watchpost\/prometheus\/rules: OK$/m);
    assert.match(ok.stdout, /^ {2}amtool watchpost\/alertmanager\/alertmanager\.yml: OK$/m);

    // A broken rule file: exit 1, the failure shown, and a finding in JSON.
    writeFileSync(
      join(w, 'prometheus', 'rules', 'broken.rules.yml'),
      'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(\n',
    );
    const bad = check(['--config', 'watchpost/watchpost.yml'], dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /promtool watchpost\/prometheus\/rules: FAILED/);
    const json = check(['--config', 'watchpost/watchpost.yml', '--format', 'json'], dir);
    assert.equal(json.status, 1);
    const found = (JSON.parse(json.stdout) as { findings: { rule: string; file: string }[] }).findings;
    assert.deepEqual(
      found.map((f) => [f.rule, f.file]),
      [['promtool-check', 'watchpost/prometheus/rules']],
    );
  });

  it("warns about a 0640 secret unless its group is the overlay's secrets group", () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-check-'));
    const w = installation(dir);
    mkdirSync(join(w, 'secrets'), { mode: 0o700 });
    const token = join(w, 'secrets', 'metrics_token');
    writeFileSync(token, 'k'.repeat(32));
    chmodSync(token, 0o640);
    const gid = statSync(token).gid;
    writeFileSync(join(w, 'watchpost.yml'), `exporter:\n  bearer_token_file: ${token}\n`);
    // The overlay beside the installation declares the secrets group, as init writes it.
    const overlay = (secretsGid: number) =>
      writeFileSync(
        join(dir, 'docker-compose.monitoring.yml'),
        `services:\n  watchpost-exporter:\n    image: "x:1"\n    environment:\n      WATCHPOST_SECRETS_GID: "\${WATCHPOST_SECRETS_GID:-${secretsGid}}"\n`,
      );
    const env = { WATCHPOST_SECRETS_GID: '', PATH: '/nonexistent' };

    overlay(gid);
    const shared = check(['--config', 'watchpost/watchpost.yml'], dir, env);
    assert.equal(shared.status, 0, shared.stderr);
    assert.equal(shared.stderr, '', 'no warning for a file of the declared secrets group');

    overlay(gid + 1);
    const other = check(['--config', 'watchpost/watchpost.yml'], dir, env);
    assert.equal(other.status, 0, other.stderr);
    assert.equal(
      other.stderr,
      `warning: secret file "${token}" is readable by its group (${gid}) (mode 0640): run chmod 600 on it, or set WATCHPOST_SECRETS_GID to a group that exists only to share secrets\n`,
    );

    // The shell's WATCHPOST_SECRETS_GID wins over the overlay's default, as in compose.
    const fromShell = check(['--config', 'watchpost/watchpost.yml'], dir, {
      ...env,
      WATCHPOST_SECRETS_GID: `${gid}`,
    });
    assert.equal(fromShell.stderr, '');
  });

  it('says "skipped: promtool not found" without the tools, and keeps validating as before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-check-'));
    const w = installation(dir);
    writeFileSync(join(w, 'watchpost.yml'), 'collectors:\n  host:\n    interval: 30s\n');
    const r = check(['--config', 'watchpost/watchpost.yml'], dir, { PATH: '/nonexistent' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /promtool watchpost\/prometheus\/prometheus\.yml: skipped: promtool not found/);
    assert.match(r.stdout, /amtool watchpost\/alertmanager\/alertmanager\.yml: skipped: amtool not found/);
    writeFileSync(join(w, 'watchpost.yml'), 'collectors:\n  host:\n    timeout: forever\n');
    const bad = check(['--config', 'watchpost/watchpost.yml', '--format', 'json'], dir);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /watchpost\.yml:3:14: collectors\.host\.timeout/);
    const alone = mkdtempSync(join(tmpdir(), 'watchpost-check-'));
    writeFileSync(join(alone, 'w.yml'), '');
    const plain = check(['--config', 'w.yml'], alone);
    assert.equal(plain.status, 0);
    assert.match(plain.stdout, /skipped: no prometheus\/prometheus\.yml beside the config/);
  });
});
