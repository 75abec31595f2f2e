import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, ROOT, eventually, skipWithout } from '../../internal/testing/helpers.js';

/**
 * A site's agent for real: `watchpost init --role agent`, then docker-compose 1.29 starts the
 * `watchpost-agent` service init wrote, unedited, on the local dockerd, with a vmagent image made
 * from Debian's binary the way the official one is built (scripts/build-local-images.sh: root by
 * default, no data folder, busybox wget). The central host is a name that does not resolve, so
 * every push fails and what is scraped stays queued: the test checks the hardening as dockerd
 * applied it, the healthcheck, that user 65534 reads the tokens and writes the queue folder init
 * made, and that the queue survives the agent's restart.
 */

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
const skip =
  skipWithout('docker', 'docker-compose', 'vmagent', 'busybox') ||
  (!dockerUp && process.env.CI !== 'true' ? 'dockerd does not answer: run scripts/start-dockerd.sh' : false);
if (skip && !dockerUp) process.stderr.write(`\n*** SKIPPED: ${skip} ***\n\n`);

const VMAGENT_IMAGE = process.env.WATCHPOST_LOCAL_VMAGENT_IMAGE ?? 'watchpost-local/vmagent:1.79';
const PUSH_TOKEN = 'site-e2e-push-token-93c1d7';

interface Inspected {
  State: { Running: boolean; Health?: { Status: string } };
  Config: { User: string };
  HostConfig: {
    ReadonlyRootfs: boolean;
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    PidsLimit: number | null;
    Memory: number;
    PortBindings: Record<string, unknown> | null;
  };
}

describe("a site: init --role agent, then the agent's service under docker-compose", { skip }, () => {
  const project = `wpvmagent-site-${randomBytes(3).toString('hex')}`;
  let dir = '';
  const compose = (...args: string[]) => {
    const r = spawnSync(
      'docker-compose',
      ['-p', project, '-f', 'docker-compose.yml', '-f', 'docker-compose.monitoring.yml', ...args],
      {
        cwd: dir,
        env: { ...process.env, VMAGENT_IMAGE },
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  const container = `${project}_watchpost-agent_1`;
  const inspect = (): Inspected => {
    const r = docker('inspect', container);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as Inspected[])[0]!;
  };
  /** vmagent's own metrics, asked from inside its container (it listens on its loopback only). */
  const metric = (name: string) => {
    const r = docker('exec', container, 'wget', '-q', '-O', '-', 'http://127.0.0.1:8429/metrics');
    if (r.status !== 0) return undefined;
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(r.stdout);
    return m ? Number(m[1]) : undefined;
  };
  const queued = () => {
    const queue = join(dir, 'watchpost', 'agent-queue');
    return readdirSync(queue, { recursive: true })
      .map((f) => statSync(join(queue, f as string)))
      .filter((st) => st.isFile())
      .reduce((sum, st) => sum + st.size, 0);
  };
  const healthy = (what: string) =>
    eventually(() => (inspect().State.Health?.Status === 'healthy' ? true : undefined), 180_000, what).catch(
      (err: Error) => {
        throw new Error(
          `${err.message}\n${compose('logs', '--no-color', '--tail=30', 'watchpost-agent').out}`,
        );
      },
    );

  after(() => {
    if (dir) compose('down', '-v', '--remove-orphans', '-t', '5');
  });

  it('runs hardened and healthy as 65534, reads its tokens, and keeps its queue across a restart', async () => {
    const built = spawnSync('bash', [join(ROOT, 'scripts', 'build-local-images.sh'), 'vmagent'], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, WATCHPOST_LOCAL_VMAGENT_IMAGE: VMAGENT_IMAGE },
    });
    assert.equal(built.status, 0, `building the vmagent image failed:\n${built.stdout}${built.stderr}`);

    dir = mkdtempSync(join(tmpdir(), 'wpvmagent-site-'));
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  recorder:\n    image: local/busybox:1\n');
    writeFileSync(join(dir, 'push_token'), `${PUSH_TOKEN}\n`, { mode: 0o600 });
    const init = spawnSync(
      process.execPath,
      [
        CLI,
        'init',
        '--role',
        'agent',
        // Never resolves (RFC 6761): every push fails, so what is scraped stays queued.
        '--central-url',
        'https://central.invalid:9852/api/v1/write',
        '--site',
        'e2e-site',
        '--host',
        'e2e-recorder',
        '--push-token-file',
        'push_token',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(init.status, 0, init.stderr);

    const up = compose('up', '-d', 'watchpost-agent');
    assert.equal(up.status, 0, up.out);
    await healthy('the agent healthy by its own healthcheck');
    const c = inspect();
    assert.equal(c.Config.User, '65534:65534');
    assert.equal(c.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(c.HostConfig.CapDrop, ['ALL']);
    assert.deepEqual(c.HostConfig.SecurityOpt, ['no-new-privileges:true']);
    assert.equal(c.HostConfig.PidsLimit, 128);
    assert.equal(c.HostConfig.Memory, 64 * 1024 * 1024);
    assert.ok(!c.HostConfig.PortBindings || Object.keys(c.HostConfig.PortBindings).length === 0);

    // It scrapes (the exporter is not started: `up` is 0, a sample all the same) and queues.
    await eventually(
      () =>
        (metric('vmagent_remotewrite_global_rows_pushed_before_relabel_total') ?? 0) > 0 ? true : undefined,
      120_000,
      'samples handed to remote write',
    );
    // A stop flushes what is queued in memory to the queue folder, which 65534 writes through
    // the secrets group (the folder is root's, mode 0770).
    const stop = compose('stop', '-t', '30', 'watchpost-agent');
    assert.equal(stop.status, 0, stop.out);
    const onDisk = queued();
    assert.ok(onDisk > 0, 'nothing in the queue folder after the agent stopped');
    assert.equal(statSync(join(dir, 'watchpost', 'agent-queue')).mode & 0o777, 0o770);

    // Started again, it finds what it could not send.
    const again = compose('up', '-d', 'watchpost-agent');
    assert.equal(again.status, 0, again.out);
    await healthy('the agent healthy again');
    const pending = await eventually(
      () => metric('vmagent_remotewrite_pending_data_bytes'),
      60_000,
      'pending',
    );
    assert.ok(pending > 0, `pending after the restart: ${pending}`);

    const logs = compose('logs', '--no-color', 'watchpost-agent').out;
    assert.doesNotMatch(logs, /permission denied/i);
    // The push fails for the name (vmagent logs the URL as "secret-url"), and the token is never logged.
    assert.match(logs, /couldn't send a block/);
    assert.doesNotMatch(logs, new RegExp(PUSH_TOKEN));
  });
});
