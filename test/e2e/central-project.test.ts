import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { makeCa } from '../../internal/testing/certs.js';
import {
  CLI,
  ROOT,
  eventually,
  freePort,
  skipWithout,
  startCli,
  type RunningCli,
} from '../../internal/testing/helpers.js';

/**
 * The central host's compose project for real: `watchpost init --role central`, the write
 * proxy's certificate put where init says, then docker-compose 1.29 starts what init wrote on
 * the local dockerd, with the images the project builds itself (scripts/build-local-images.sh:
 * there is no registry here, so the Node base, Prometheus, Alertmanager and VictoriaMetrics are
 * made from this host's binaries; the watchpost image from the production Dockerfile). Nothing
 * of the installation is edited. Grafana has no package here and is not started: every other
 * service is (`up -d SERVICE...`). A site is a Prometheus agent on this host that pushes to the
 * published proxy port on 127.0.0.1, as a site's agent pushes to the central's public address.
 * The image names can be changed through the variables the build script reads.
 */

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
const skip =
  skipWithout(
    'docker',
    'docker-compose',
    'prometheus',
    'prometheus-alertmanager',
    'victoria-metrics',
    'busybox',
    'openssl',
  ) ||
  (!dockerUp && process.env.CI !== 'true' ? 'dockerd does not answer: run scripts/start-dockerd.sh' : false);
if (skip && !dockerUp) process.stderr.write(`\n*** SKIPPED: ${skip} ***\n\n`);

const env = process.env;
const LOCAL = {
  WATCHPOST_LOCAL_IMAGE: env.WATCHPOST_LOCAL_IMAGE ?? 'watchpost-local/watchpost:test',
  WATCHPOST_LOCAL_PROMETHEUS_IMAGE: env.WATCHPOST_LOCAL_PROMETHEUS_IMAGE ?? 'watchpost-local/prometheus:2.42',
  WATCHPOST_LOCAL_ALERTMANAGER_IMAGE:
    env.WATCHPOST_LOCAL_ALERTMANAGER_IMAGE ?? 'watchpost-local/alertmanager:0.25',
  WATCHPOST_LOCAL_VICTORIAMETRICS_IMAGE:
    env.WATCHPOST_LOCAL_VICTORIAMETRICS_IMAGE ?? 'watchpost-local/victoria-metrics:1.79',
};
const IMAGES = {
  WATCHPOST_IMAGE: LOCAL.WATCHPOST_LOCAL_IMAGE,
  PROMETHEUS_IMAGE: LOCAL.WATCHPOST_LOCAL_PROMETHEUS_IMAGE,
  ALERTMANAGER_IMAGE: LOCAL.WATCHPOST_LOCAL_ALERTMANAGER_IMAGE,
  VICTORIAMETRICS_IMAGE: LOCAL.WATCHPOST_LOCAL_VICTORIAMETRICS_IMAGE,
};
/** Every service of docker-compose.central.yml but Grafana. */
const STARTED = [
  'watchpost-write-proxy',
  'watchpost-prometheus',
  'watchpost-victoriametrics',
  'watchpost-alertmanager',
  'watchpost-notifier',
] as const;
const SITE = { site: 'e2e-site', host: 'e2e-recorder' };

interface Inspected {
  State: { Pid: number; Running: boolean; Health?: { Status: string } };
  Config: { User: string };
  HostConfig: {
    ReadonlyRootfs: boolean;
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    SecurityOpt: string[] | null;
    PidsLimit: number | null;
    Memory: number;
    Privileged: boolean;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
  };
}

describe(
  'the central host: init --role central, then its compose project under docker-compose',
  { skip },
  () => {
    const project = `wp-central-e2e-${randomBytes(3).toString('hex')}`;
    let dir = '';
    let pushPort = 0;
    let caFile = '';
    const stops: (() => Promise<unknown>)[] = [];
    let composeEnv: NodeJS.ProcessEnv = {};

    const compose = (...args: string[]) => {
      const r = spawnSync('docker-compose', ['-p', project, '-f', 'docker-compose.central.yml', ...args], {
        cwd: dir,
        env: composeEnv,
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
    const inspect = (service: string): Inspected => {
      const r = docker('inspect', container(service));
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as Inspected[])[0]!;
    };
    /** Only the write proxy publishes a port: the others are asked from inside their own container. */
    const wget = (service: string, url: string) => {
      const r = docker('exec', container(service), 'wget', '-q', '-O', '-', url);
      if (r.status !== 0) throw new Error(`${service} ${url}: ${r.stderr}`);
      return r.stdout;
    };
    const api = <T>(service: string, url: string) => (JSON.parse(wget(service, url)) as { data: T }).data;
    type Sample = { metric: Record<string, string>; value: [number, string] };
    const promQuery = (q: string) =>
      api<{ result: Sample[] }>(
        'watchpost-prometheus',
        `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(q)}`,
      ).result;
    const vmQuery = (q: string) =>
      api<{ result: Sample[] }>(
        'watchpost-victoriametrics',
        `http://127.0.0.1:8428/api/v1/query?query=${encodeURIComponent(q)}`,
      ).result;
    /** A POST to the published write proxy over HTTPS, verified against the test's CA. */
    const push = (path: string, headers: Record<string, string>, method = 'POST') =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: pushPort,
            path,
            method,
            ca: readFileSync(caFile),
            headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', ...headers },
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(method === 'POST' ? Buffer.from([0]) : undefined);
      });
    const failureContext = () =>
      `\n${compose('ps').out}\n${compose('logs', '--no-color', '--tail=20', ...STARTED).out}`;

    before(async () => {
      const built = spawnSync(
        'bash',
        [
          join(ROOT, 'scripts', 'build-local-images.sh'),
          'node',
          'prometheus',
          'alertmanager',
          'victoria-metrics',
          'watchpost',
        ],
        { encoding: 'utf8', timeout: 900_000, env: { ...env, ...LOCAL } },
      );
      assert.equal(built.status, 0, `building the local images failed:\n${built.stdout}${built.stderr}`);

      dir = mkdtempSync(join(tmpdir(), 'wp-central-e2e-'));
      const init = () =>
        spawnSync(process.execPath, [CLI, 'init', '--role', 'central'], { cwd: dir, encoding: 'utf8' });
      const first = init();
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /watchpost\/tls\/push\.pem/);
      // What the operator does next (init's next steps): the proxy's certificate and key, then init again.
      const ca = makeCa('openssl', mkdtempSync(join(tmpdir(), 'wp-central-e2e-ca-')));
      caFile = ca.caFile;
      const cert = ca.issue('central');
      copyFileSync(cert.certFile, join(dir, 'watchpost', 'tls', 'push.pem'));
      copyFileSync(cert.keyFile, join(dir, 'watchpost', 'secrets', 'push_tls_key'));
      const second = init();
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /fixed\s+watchpost\/secrets\/push_tls_key/);

      pushPort = await freePort();
      composeEnv = {
        ...env,
        ...IMAGES,
        // Loopback only in the test; a real central host publishes it where its sites reach it.
        WATCHPOST_PUSH_BIND: '127.0.0.1',
        WATCHPOST_PUSH_PORT: String(pushPort),
      };
      const up = compose('up', '-d', ...STARTED);
      assert.equal(up.status, 0, up.out);
      await eventually(
        () => (STARTED.every((s) => inspect(s).State.Health?.Status === 'healthy') ? true : undefined),
        240_000,
        'every started service healthy',
      ).catch((err: Error) => {
        throw new Error(`${err.message}${failureContext()}`);
      });
    });

    after(async () => {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      // A safety net when a test failed before the down -v test.
      if (dir) compose('down', '-v', '--remove-orphans', '-t', '5');
    });

    it('starts every service but Grafana, each healthy by its own healthcheck', () => {
      const running = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`)
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
      assert.equal(running.length, STARTED.length);
      for (const service of STARTED) {
        const c = inspect(service);
        assert.equal(c.State.Running, true, service);
        assert.equal(c.State.Health?.Status, 'healthy', service);
      }
      // Grafana is in the file (its image cannot be had here): declared, not started.
      const cfg = parse(compose('config').out) as { services: Record<string, unknown> };
      assert.deepEqual(Object.keys(cfg.services).sort(), [...STARTED, 'watchpost-grafana'].sort());
    });

    it('the write proxy, published on the given address only, refuses a push without the token or with a wrong one', async () => {
      const none = await push('/api/v1/write', {});
      assert.equal(none.status, 401, none.body);
      const wrong = await push('/api/v1/write', { authorization: 'Bearer not-the-push-token' });
      assert.equal(wrong.status, 401, wrong.body);
      // The query API stays out of reach, token or not.
      const token = readFileSync(join(dir, 'watchpost', 'secrets', 'push_token'), 'utf8').trim();
      const query = await push('/api/v1/query?query=up', { authorization: `Bearer ${token}` }, 'GET');
      assert.equal(query.status, 404, query.body);
      const logs = compose('logs', '--no-color', 'watchpost-write-proxy').out;
      assert.match(logs, /write-proxy refused a push.*reason="no bearer token"/);
      assert.match(logs, /reason="wrong bearer token"/);
      assert.doesNotMatch(logs, new RegExp(token));
      assert.doesNotMatch(logs, /not-the-push-token/);
    });

    it("a site's agent pushing through the proxy: its samples reach the central Prometheus and VictoriaMetrics, labelled", async () => {
      const work = mkdtempSync(join(tmpdir(), 'wp-central-e2e-site-'));
      writeFileSync(
        join(work, 'watchpost.yml'),
        'exporter:\n  listen: 127.0.0.1:0\ncollectors:\n  containers: { enabled: false }\n',
      );
      const exporter: RunningCli = await startCli(['exporter', '--config', join(work, 'watchpost.yml')]);
      stops.push(() => exporter.stop());
      // The push token as a site holds it: copied from the central's secrets.
      copyFileSync(join(dir, 'watchpost', 'secrets', 'push_token'), join(work, 'push_token'));
      writeFileSync(
        join(work, 'agent.yml'),
        `global:
  scrape_interval: 1s
  external_labels: { site: ${SITE.site}, host: ${SITE.host} }
scrape_configs:
  - job_name: watchpost
    static_configs: [{ targets: ['127.0.0.1:${exporter.port}'] }]
remote_write:
  - url: https://127.0.0.1:${pushPort}/api/v1/write
    authorization: { credentials_file: ${join(work, 'push_token')} }
    tls_config: { ca_file: ${caFile} }
    queue_config: { batch_send_deadline: 1s }
`,
      );
      const agentPort = await freePort();
      const agent = spawn(
        'prometheus',
        [
          '--enable-feature=agent',
          `--config.file=${join(work, 'agent.yml')}`,
          `--storage.agent.path=${join(work, 'wal')}`,
          `--web.listen-address=127.0.0.1:${agentPort}`,
        ],
        { stdio: 'ignore' },
      );
      const exited = new Promise((r) => agent.once('exit', r));
      stops.push(async () => {
        if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGTERM');
        await exited;
      });

      const where = (r: Sample) => `${r.metric.site}/${r.metric.host}`;
      const pushed = await eventually(
        () => {
          const r = promQuery(`watchpost_exporter_build_info{job="watchpost"}`);
          return r.length > 0 ? r : undefined;
        },
        120_000,
        "the site's samples in the central Prometheus",
      ).catch((err: Error) => {
        throw new Error(`${err.message}${failureContext()}`);
      });
      assert.deepEqual(pushed.map(where), [`${SITE.site}/${SITE.host}`]);
      // The proxy took the pushes: the agent has sent samples and had none refused.
      const agentMetrics = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
      const counter = (name: string) =>
        [...agentMetrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
      assert.ok(counter('prometheus_remote_storage_samples_total') > 0, 'samples sent');
      assert.equal(counter('prometheus_remote_storage_samples_failed_total'), 0, 'samples refused');

      // The central Prometheus forwards them to VictoriaMetrics, where Grafana reads them.
      const stored = await eventually(
        () => {
          const r = vmQuery(`last_over_time(watchpost_exporter_build_info{job="watchpost"}[5m])`);
          return r.length > 0 ? r : undefined;
        },
        180_000,
        "the site's samples in VictoriaMetrics",
      ).catch((err: Error) => {
        throw new Error(`${err.message}${failureContext()}`);
      });
      assert.deepEqual(stored.map(where), [`${SITE.site}/${SITE.host}`]);
      // VictoriaMetrics wrote them as the overlay's non-root user, into the folder init made for it.
      const files = readdirSync(join(dir, 'watchpost', 'victoriametrics'));
      assert.ok(files.includes('data') && files.includes('indexdb'), files.join(' '));
      assert.equal(statSync(join(dir, 'watchpost', 'victoriametrics', 'data')).uid, 65534);
    });

    it('the central Prometheus loaded every shipped rule file and sends to Alertmanager, which feeds the notifier', async () => {
      const groups = api<{ groups: { file: string; rules: { name: string }[] }[] }>(
        'watchpost-prometheus',
        'http://127.0.0.1:9090/api/v1/rules',
      ).groups;
      const shipped = readdirSync(join(ROOT, 'alerts')).filter((f) => f.endsWith('.rules.yml'));
      assert.deepEqual(
        [...new Set(groups.map((g) => g.file.replace('/etc/prometheus/rules/', '')))].sort(),
        shipped.sort(),
      );
      const shippedRules = shipped.flatMap((f) =>
        (
          parse(readFileSync(join(ROOT, 'alerts', f), 'utf8')) as {
            groups: { rules: { alert?: string; record?: string }[] }[];
          }
        ).groups.flatMap((g) => g.rules.map((r) => r.alert ?? r.record)),
      );
      assert.deepEqual(groups.flatMap((g) => g.rules.map((r) => r.name)).sort(), shippedRules.sort());
      assert.ok(shippedRules.includes('SiteUnreachable'));

      const ams = api<{ activeAlertmanagers: { url: string }[] }>(
        'watchpost-prometheus',
        'http://127.0.0.1:9090/api/v1/alertmanagers',
      ).activeAlertmanagers;
      assert.deepEqual(
        ams.map((a) => a.url),
        ['http://watchpost-alertmanager:9093/api/v2/alerts'],
      );
      // Prometheus → Alertmanager → the notifier's heartbeat endpoint (with its token) → scraped back.
      await eventually(
        () => {
          const r = promQuery('watchpost_notifier_last_heartbeat_timestamp_seconds > 0');
          return r.length === 1 ? r : undefined;
        },
        180_000,
        "the Watchdog's heartbeat received by the notifier",
      ).catch((err: Error) => {
        throw new Error(`${err.message}${failureContext()}`);
      });
      const inAm = JSON.parse(wget('watchpost-alertmanager', 'http://127.0.0.1:9093/api/v2/alerts')) as {
        labels: Record<string, string>;
      }[];
      assert.ok(inAm.some((a) => a.labels.alertname === 'Watchdog'));
      const targets = api<{ activeTargets: { labels: Record<string, string>; health: string }[] }>(
        'watchpost-prometheus',
        'http://127.0.0.1:9090/api/v1/targets',
      ).activeTargets;
      assert.deepEqual(
        targets.map((t) => `${t.labels.job} ${t.labels.site}/${t.labels.host} ${t.health}`),
        ['watchpost-notifier central/central up'],
      );
    });

    it("the notifier refuses Alertmanager's webhook without its token (401)", () => {
      for (const path of ['/alerts', '/heartbeat']) {
        const r = docker(
          'exec',
          container('watchpost-alertmanager'),
          'wget',
          '-q',
          '-O',
          '-',
          '--post-data',
          '{"version":"4","alerts":[]}',
          `http://watchpost-notifier:9851${path}`,
        );
        assert.notEqual(r.status, 0, path);
        assert.match(r.stderr, /401 Unauthorized/, path);
      }
    });

    it('every started container runs hardened: non-root, read-only root, no capabilities, no new privileges, limits', () => {
      for (const service of STARTED) {
        const c = inspect(service);
        const h = c.HostConfig;
        assert.ok(
          !['', '0', 'root'].includes(c.Config.User.split(':')[0]!),
          `${service} user ${c.Config.User}`,
        );
        assert.equal(h.ReadonlyRootfs, true, `${service} read-only root`);
        assert.deepEqual(h.CapDrop, ['ALL'], `${service} CapDrop`);
        assert.equal(h.CapAdd, null, `${service} CapAdd`);
        assert.ok(h.SecurityOpt?.includes('no-new-privileges:true'), `${service} no-new-privileges`);
        assert.equal(h.Privileged, false, service);
        assert.ok((h.PidsLimit ?? 0) > 0, `${service} pids limit`);
        assert.ok(h.Memory > 0, `${service} memory limit`);
        // What the kernel says of the running process, seen from the host.
        const status = readFileSync(`/proc/${c.State.Pid}/status`, 'utf8');
        const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
        for (const id of field('Uid').split(/\s+/)) assert.notEqual(id, '0', `${service} uid`);
        for (const id of field('Gid').split(/\s+/)) assert.notEqual(id, '0', `${service} gid`);
        assert.equal(BigInt(`0x${field('CapEff')}`), 0n, `${service} effective capabilities`);
        assert.equal(BigInt(`0x${field('CapPrm')}`), 0n, `${service} permitted capabilities`);
        assert.equal(field('NoNewPrivs'), '1', `${service} NoNewPrivs`);
        const ports = Object.values(h.PortBindings ?? {}).flat();
        if (service === 'watchpost-write-proxy')
          assert.deepEqual(ports, [{ HostIp: '127.0.0.1', HostPort: String(pushPort) }]);
        else assert.deepEqual(ports, [], `${service} publishes no port`);
      }
      // A write to the root filesystem fails, as the non-root user would anyway; /tmp is the tmpfs.
      const write = docker('exec', container('watchpost-victoriametrics'), 'sh', '-c', 'echo x > /probe');
      assert.notEqual(write.status, 0);
      assert.match(write.stderr, /Read-only file system/);
    });

    it('a missing proxy key stops `up` naming the file; a missing certificate makes the proxy say which, and it recovers once the file is back', async () => {
      const key = join(dir, 'watchpost', 'secrets', 'push_tls_key');
      renameSync(key, `${key}.away`);
      try {
        const r = compose('up', '-d', '--force-recreate', '--no-deps', 'watchpost-write-proxy');
        assert.notEqual(r.status, 0);
        assert.match(r.out, /watchpost\/secrets\/push_tls_key/);
      } finally {
        renameSync(`${key}.away`, key);
      }
      const cert = join(dir, 'watchpost', 'tls', 'push.pem');
      renameSync(cert, `${cert}.away`);
      try {
        const r = compose('up', '-d', '--force-recreate', '--no-deps', 'watchpost-write-proxy');
        assert.equal(r.status, 0, r.out);
        await eventually(
          () =>
            /certificate file "\/etc\/watchpost\/tls\/push\.pem"/.test(
              compose('logs', '--no-color', 'watchpost-write-proxy').out,
            )
              ? true
              : undefined,
          60_000,
          'the proxy naming its missing certificate',
        );
        assert.notEqual(inspect('watchpost-write-proxy').State.Health?.Status, 'healthy');
      } finally {
        renameSync(`${cert}.away`, cert);
      }
      // Back: restarted by compose's restart policy, or recreated by the operator.
      const r = compose('up', '-d', '--force-recreate', '--no-deps', 'watchpost-write-proxy');
      assert.equal(r.status, 0, r.out);
      await eventually(
        () => (inspect('watchpost-write-proxy').State.Health?.Status === 'healthy' ? true : undefined),
        120_000,
        'the write proxy healthy again',
      );
      assert.equal((await push('/api/v1/write', {})).status, 401);
    });

    it('`down -v` leaves no container, network or volume behind', async () => {
      for (const stop of stops.splice(0).reverse()) await stop();
      const r = compose('down', '-v', '--remove-orphans', '-t', '5');
      assert.equal(r.status, 0, r.out);
      const left = [
        docker('ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`).stdout.trim(),
        docker(
          'network',
          'ls',
          '-q',
          '--filter',
          `label=com.docker.compose.project=${project}`,
        ).stdout.trim(),
        docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`).stdout.trim(),
      ].filter(Boolean);
      assert.deepEqual(left, []);
    });
  },
);
