import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { CLI, ROOT, eventually, skipWithout } from '../../internal/testing/helpers.js';

/**
 * The overlay for real: `watchpost init` on a small app, then docker-compose 1.29 brings up
 * the app, the exporter, the notifier, Prometheus and Alertmanager on the local dockerd, with
 * the images the project builds itself (scripts/build-local-images.sh: there is no registry
 * here, so the Node base, Prometheus and Alertmanager are made from this host's binaries; the
 * Dockerfile is the production one). Grafana has no package here: its part is checked with
 * `docker-compose config` and its provisioning files. Only what the test must shorten is
 * changed in the installation init wrote: scrape/evaluation intervals, Alertmanager's waits,
 * the one alert's `for:`, the containers collector's interval.
 */

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
const skip =
  skipWithout('docker', 'docker-compose', 'prometheus', 'prometheus-alertmanager', 'busybox') ||
  (!dockerUp && process.env.CI !== 'true' ? 'dockerd does not answer: run scripts/start-dockerd.sh' : false);
if (skip && !dockerUp) process.stderr.write(`\n*** SKIPPED: ${skip} ***\n\n`);

const IMAGES = {
  WATCHPOST_IMAGE: 'watchpost-local/watchpost:test',
  PROMETHEUS_IMAGE: 'watchpost-local/prometheus:2.42',
  ALERTMANAGER_IMAGE: 'watchpost-local/alertmanager:0.25',
};
const NODE_IMAGE = 'watchpost-local/node:20';
const MONITORING = [
  'watchpost-exporter',
  'watchpost-notifier',
  'watchpost-prometheus',
  'watchpost-alertmanager',
] as const;

describe('overlay: init, then the app and its monitoring under docker-compose', { skip }, () => {
  const project = `wp-overlay-e2e-${randomBytes(3).toString('hex')}`;
  let dir = '';
  const env = { ...process.env, ...IMAGES, COMPOSE_PROJECT_NAME: project };
  const files = ['-f', 'app.yml', '-f', 'docker-compose.monitoring.yml', '-f', 'fake-slack.yml'];

  const compose = (...args: string[]) => {
    const r = spawnSync('docker-compose', ['-p', project, ...files, ...args], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 300_000,
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const docker = (...args: string[]) =>
    spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 }) as {
      status: number | null;
      stdout: string;
      stderr: string;
    };
  const container = (service: string) => `${project}_${service}_1`;
  /** Prometheus publishes no port: ask it from inside its own container. */
  const promGet = (path: string) => {
    const r = docker(
      'exec',
      container('watchpost-prometheus'),
      'wget',
      '-q',
      '-O',
      '-',
      `http://127.0.0.1:9090${path}`,
    );
    if (r.status !== 0) throw new Error(`prometheus ${path}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { data: unknown };
  };
  const query = (q: string) =>
    (
      promGet(`/api/v1/query?query=${encodeURIComponent(q)}`).data as {
        result: { metric: Record<string, string>; value: [number, string] }[];
      }
    ).result;
  /** What the Slack stand-in received: one JSON line per request on its stdout. */
  const slackRequests = () =>
    docker('logs', container('fake-slack'))
      .stdout.split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { path: string; status: number; body: string });

  before(async () => {
    const built = spawnSync('bash', [join(ROOT, 'scripts', 'build-local-images.sh')], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    assert.equal(built.status, 0, `building the local images failed:\n${built.stdout}${built.stderr}`);

    dir = mkdtempSync(join(tmpdir(), 'wp-overlay-e2e-'));
    // The app: an HTTP service with a healthcheck (probed by the exporter) and a worker.
    writeFileSync(
      join(dir, 'app.yml'),
      `services:
  web:
    image: local/busybox:1
    command: ["sh", "-c", "mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www"]
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"]
      interval: 2s
      retries: 3
  worker:
    image: local/busybox:1
    command: ["sleep", "86400"]
    restart: unless-stopped
`,
    );
    // Slack's stand-in, outside the internal network: 200 "ok", or 500 while /tmp/fail exists.
    writeFileSync(
      join(dir, 'fake-slack.mjs'),
      `import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const status = existsSync('/tmp/fail') ? 500 : 200;
    console.log(JSON.stringify({ path: req.url, status, body }));
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'internal_error');
  });
}).listen(8080, '0.0.0.0');
`,
    );
    writeFileSync(
      join(dir, 'fake-slack.yml'),
      `services:
  fake-slack:
    image: ${NODE_IMAGE}
    command: ["node", "/srv/fake-slack.mjs"]
    user: "10001:10001"
    volumes: ["./fake-slack.mjs:/srv/fake-slack.mjs:ro"]
    networks: [watchpost-egress]
`,
    );
    chmodSync(join(dir, 'fake-slack.mjs'), 0o644);

    // The operator adds Slack before init: init then mounts the secret and configures the channel.
    const init1 = spawnSync(process.execPath, [CLI, 'init', '--compose', 'app.yml'], {
      cwd: dir,
      env,
      encoding: 'utf8',
    });
    assert.equal(init1.status, 0, init1.stderr);
    writeFileSync(
      join(dir, 'watchpost', 'secrets', 'slack_webhook_url'),
      'http://fake-slack:8080/services/T0/B0/test\n',
      {
        mode: 0o600,
      },
    );
    const init2 = spawnSync(process.execPath, [CLI, 'init', '--compose', 'app.yml'], {
      cwd: dir,
      env,
      encoding: 'utf8',
    });
    assert.equal(init2.status, 0, init2.stderr);
    assert.match(init2.stdout, /fixed\s+watchpost\/secrets\/slack_webhook_url: was mode 0600/);
    assert.match(init2.stdout, /updated\s+docker-compose\.monitoring\.yml/);

    // Shorter waits, in the files of this installation only.
    const edit = (rel: string, fn: (text: string) => string) => {
      const path = join(dir, rel);
      const text = readFileSync(path, 'utf8');
      const next = fn(text);
      assert.notEqual(next, text, `nothing changed in ${rel}`);
      writeFileSync(path, next);
    };
    edit('watchpost/prometheus/prometheus.yml', (t) =>
      t
        .replace(/scrape_interval: \d+s/, 'scrape_interval: 1s')
        .replace(/evaluation_interval: \d+s/, 'evaluation_interval: 1s'),
    );
    edit('watchpost/alertmanager/alertmanager.yml', (t) =>
      t
        .replace(/group_wait: \d+[sm]/g, 'group_wait: 0s')
        .replace(/group_interval: \d+[sm]/g, 'group_interval: 1s'),
    );
    edit('watchpost/prometheus/rules/containers.rules.yml', (t) =>
      t.replace(/(alert: ExpectedContainerNotRunning\n\s+expr: [^\n]+\n\s+)for: 1m/, '$1for: 2s'),
    );
    edit('watchpost/watchpost.yml', (t) =>
      t.replace(/\n {2}containers:\n/, '\n  containers:\n    interval: 1s\n    timeout: 1s\n'),
    );

    const up = compose('up', '-d', 'web', 'worker', 'fake-slack', ...MONITORING);
    assert.equal(up.status, 0, up.out);
    await eventually(
      () => {
        try {
          const targets = (promGet('/api/v1/targets').data as { activeTargets: { health: string }[] })
            .activeTargets;
          return targets.length === 2 && targets.every((t) => t.health === 'up') ? true : undefined;
        } catch {
          return undefined;
        }
      },
      120_000,
      'both watchpost targets up',
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\n${compose('ps').out}\n${compose('logs', '--tail=20', ...MONITORING).out}`,
      );
    });
  });

  after(() => {
    if (!dir) return;
    // A safety net when a test failed before the down -v test.
    compose('down', '-v', '--remove-orphans', '-t', '5');
  });

  it('Prometheus scrapes both watchpost targets through their bearer tokens; without one it is refused', () => {
    const targets = (
      promGet('/api/v1/targets').data as {
        activeTargets: { labels: { job: string }; health: string; lastError: string }[];
      }
    ).activeTargets;
    assert.deepEqual(targets.map((t) => `${t.labels.job} ${t.health}${t.lastError}`).sort(), [
      'watchpost up',
      'watchpost-notifier up',
    ]);
    const noToken = docker(
      'exec',
      container('watchpost-prometheus'),
      'wget',
      '-q',
      '-O',
      '-',
      'http://watchpost-exporter:9850/metrics',
    );
    assert.notEqual(noToken.status, 0);
    assert.match(noToken.stderr, /401/);
  });

  it("the exporter sees the app's containers with their compose labels and probes the app's web service", async () => {
    const running = await eventually(
      () => {
        const r = query(`watchpost_container_running{compose_project="${project}"}`);
        return r.length >= 2 ? r : undefined;
      },
      60_000,
      'app containers in Prometheus',
    );
    const services = new Map(running.map((r) => [r.metric.compose_service, r.value[1]]));
    assert.equal(services.get('web'), '1');
    assert.equal(services.get('worker'), '1');
    const expected = query(`watchpost_container_expected_running{compose_project="${project}"}`);
    assert.deepEqual(expected.map((e) => `${e.metric.compose_service}=${e.value[1]}`).sort(), [
      'web=1',
      'worker=1',
    ]);
    await eventually(
      () => (query('watchpost_dependency_up{name="web"}')[0]?.value[1] === '1' ? true : undefined),
      60_000,
      'web probed up from the app network',
    );
    const collectors = query('watchpost_collector_success');
    for (const c of collectors)
      assert.equal(c.value[1], '1', `collector ${c.metric.collector} in the container`);
  });

  it('stopping an expected app container pages: the notifier delivers the alert to Slack', async () => {
    assert.equal(compose('stop', '-t', '1', 'worker').status, 0);
    const firing = await eventually(
      () => slackRequests().find((r) => r.status === 200 && r.body.includes('service worker is not running')),
      180_000,
      'ExpectedContainerNotRunning delivered to Slack',
    );
    assert.equal(firing.path, '/services/T0/B0/test');
    const body = JSON.parse(firing.body) as { text?: string; blocks?: unknown[] };
    assert.ok(body.text ?? body.blocks, 'a Slack message');
  });

  it("the notifier's outbox survives `docker-compose restart watchpost-notifier`", async () => {
    // Slack fails: the page for the web service stays in the outbox.
    const fail = (on: boolean) =>
      docker(
        'exec',
        container('fake-slack'),
        'node',
        '-e',
        `require('fs').${on ? "writeFileSync('/tmp/fail','')" : "rmSync('/tmp/fail')"}`,
      );
    assert.equal(fail(true).status, 0);
    const before = slackRequests().length;
    assert.equal(compose('stop', '-t', '1', 'web').status, 0);
    await eventually(
      () =>
        slackRequests()
          .slice(before)
          .some((r) => r.status === 500 && r.body.includes('service web is not running'))
          ? true
          : undefined,
      180_000,
      'a delivery attempt that Slack refused',
    );
    await eventually(
      () => (Number(query('watchpost_notifier_outbox_depth')[0]?.value[1] ?? 0) >= 1 ? true : undefined),
      30_000,
      'the notification waiting in the outbox',
    );
    const restarted = compose('restart', '-t', '10', 'watchpost-notifier');
    assert.equal(restarted.status, 0, restarted.out);
    // Slack is back: what was accepted before the restart is delivered after it.
    assert.equal(fail(false).status, 0);
    await eventually(
      () =>
        slackRequests()
          .slice(before)
          .find((r) => r.status === 200 && r.body.includes('service web is not running')),
      180_000,
      'the queued notification delivered after the restart',
    );
  });

  it('the 0640 secrets shared through the secrets group start the services without a warning', () => {
    for (const service of ['watchpost-exporter', 'watchpost-notifier'] as const) {
      const logs = compose('logs', '--no-color', service).out;
      assert.ok(/level=info/.test(logs), `${service} logged at start: ${logs}`);
      assert.doesNotMatch(logs, /unsafe config|is readable by its group/, `${service} logs`);
    }
  });

  it('every monitoring container runs hardened (docker inspect)', () => {
    for (const service of MONITORING) {
      const r = docker('inspect', container(service));
      assert.equal(r.status, 0, r.stderr);
      const [c] = JSON.parse(r.stdout) as {
        Config: { User: string };
        HostConfig: {
          ReadonlyRootfs: boolean;
          CapDrop: string[] | null;
          SecurityOpt: string[] | null;
          PidsLimit: number | null;
          Memory: number;
          PortBindings: Record<string, unknown> | null;
          Privileged: boolean;
          RestartPolicy: { Name: string };
          LogConfig: { Type: string; Config: Record<string, string> };
        };
        State: { Health?: { Status: string } };
      }[];
      const h = c!.HostConfig;
      const uid = c!.Config.User.split(':')[0];
      assert.ok(uid && uid !== '0' && uid !== 'root', `${service} user ${c!.Config.User}`);
      assert.equal(h.ReadonlyRootfs, true, `${service} read-only root`);
      assert.deepEqual(h.CapDrop, ['ALL'], `${service} CapDrop`);
      assert.ok(h.SecurityOpt?.includes('no-new-privileges:true'), `${service} no-new-privileges`);
      assert.ok((h.PidsLimit ?? 0) > 0, `${service} pids limit`);
      assert.ok(h.Memory > 0, `${service} memory limit`);
      assert.equal(h.Privileged, false);
      assert.deepEqual(h.PortBindings ?? {}, {}, `${service} publishes no port`);
      assert.equal(h.RestartPolicy.Name, 'unless-stopped');
      assert.equal(h.LogConfig.Config['max-size'], '10m', `${service} log rotation`);
      assert.ok(c!.State.Health, `${service} has a healthcheck`);
    }
  });

  it('Grafana: published on 127.0.0.1 only, no anonymous access, password from the secret, datasource provisioned', () => {
    const r = compose('config');
    assert.equal(r.status, 0, r.out);
    const cfg = parse(r.out) as {
      services: Record<
        string,
        {
          ports?: { published: number | string; target: number; host_ip?: string }[] | string[];
          environment?: Record<string, string>;
          secrets?: unknown[];
        }
      >;
    };
    const grafana = cfg.services['watchpost-grafana']!;
    const ports = grafana.ports!.map((p) =>
      typeof p === 'string' ? p : `${p.host_ip}:${p.published}:${p.target}`,
    );
    assert.deepEqual(ports, ['127.0.0.1:3000:3000/tcp']);
    assert.equal(grafana.environment!.GF_AUTH_ANONYMOUS_ENABLED, 'false');
    assert.equal(grafana.environment!.GF_USERS_ALLOW_SIGN_UP, 'false');
    assert.equal(
      grafana.environment!.GF_SECURITY_ADMIN_PASSWORD__FILE,
      '/run/secrets/watchpost_grafana_admin_password',
    );
    for (const [name, svc] of Object.entries(cfg.services)) {
      if (name === 'watchpost-grafana') continue;
      if (MONITORING.includes(name as (typeof MONITORING)[number]))
        assert.equal(svc.ports, undefined, `${name} ports`);
    }
    const ds = parse(
      readFileSync(join(dir, 'watchpost/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as {
      apiVersion: number;
      datasources: { uid: string; type: string; url: string }[];
    };
    assert.equal(ds.apiVersion, 1);
    assert.deepEqual(
      ds.datasources.map((d) => [d.uid, d.type, d.url]),
      [['watchpost-prometheus', 'prometheus', 'http://watchpost-prometheus:9090']],
    );
    assert.ok(statSync(join(dir, 'watchpost/grafana/dashboards')).isDirectory());
  });

  // Without the socket's group the containers collector still succeeds (its other work goes
  // on); Docker being unreachable is its own series with a reason, and the status page says
  // how to fix it.
  it('the exporter without the Docker socket group says why and how to fix it', async () => {
    const name = `${project}-nogroup`;
    const r = docker(
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '--user',
      '10001:10001',
      '--read-only',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock:ro',
      '-e',
      'WATCHPOST_CONFIG=',
      IMAGES.WATCHPOST_IMAGE,
      'exporter',
      '--listen',
      '127.0.0.1:9850',
    );
    assert.equal(r.status, 0, r.stderr);
    try {
      const page = await eventually(
        () => {
          const p = docker(
            'exec',
            name,
            'node',
            '-e',
            "fetch('http://127.0.0.1:9850/').then(r=>r.text()).then(t=>console.log(t))",
          );
          return p.status === 0 && /permission denied/.test(p.stdout) ? p.stdout : undefined;
        },
        120_000,
        'the status page naming the socket permission problem',
      );
      const gid = statSync('/var/run/docker.sock').gid;
      assert.match(page, new RegExp(`socket belongs to group ${gid}`));
      assert.match(page, new RegExp(`WATCHPOST_DOCKER_GID=${gid}`));
      const metrics = docker(
        'exec',
        name,
        'node',
        '-e',
        "fetch('http://127.0.0.1:9850/metrics').then(r=>r.text()).then(t=>console.log(t))",
      );
      assert.equal(metrics.status, 0, metrics.stderr);
      assert.match(metrics.stdout, /^watchpost_docker_up 0$/m);
      assert.match(metrics.stdout, /^watchpost_docker_down_reason\{reason="permission_denied"\} 1$/m);
      assert.match(metrics.stdout, /^watchpost_docker_down_reason\{reason="no_socket"\} 0$/m);
    } finally {
      docker('rm', '-f', name);
    }
  });

  it('a missing secret file stops `up` with a message naming the file', () => {
    const secret = join(dir, 'watchpost', 'secrets', 'metrics_token');
    renameSync(secret, `${secret}.away`);
    try {
      const r = compose('up', '-d', '--force-recreate', '--no-deps', 'watchpost-exporter');
      assert.notEqual(r.status, 0);
      assert.match(r.out, /watchpost\/secrets\/metrics_token/);
    } finally {
      renameSync(`${secret}.away`, secret);
    }
  });

  it('`down -v` leaves no container, network or volume behind', () => {
    const r = compose('down', '-v', '--remove-orphans', '-t', '5');
    assert.equal(r.status, 0, r.out);
    const left = [
      docker('ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`).stdout.trim(),
      docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`).stdout.trim(),
      docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`).stdout.trim(),
      docker('network', 'ls', '-q', '--filter', `name=${project}_`).stdout.trim(),
      docker('volume', 'ls', '-q', '--filter', `name=${project}_`).stdout.trim(),
    ].filter(Boolean);
    assert.deepEqual(left, []);
    assert.ok(
      existsSync(join(dir, 'watchpost', 'secrets', 'metrics_token')),
      'the installation itself stays',
    );
  });
});
