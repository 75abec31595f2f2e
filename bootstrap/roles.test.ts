import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { main } from '../cli/main.js';
import { loadConfigFile } from '../config/load.js';
import { requireBinary } from '../internal/testing/helpers.js';
import { CENTRAL_FILE, INSTALL_DIR, OVERLAY_FILE, runInit, type InitOptions } from './init.js';
import { PINNED_IMAGES } from './overlay.js';

const ROOT = join(import.meta.dirname, '..');
const CENTRAL_URL = 'https://central.example.com:9852/api/v1/write';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n';

interface Service {
  image: string;
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  pids_limit?: number;
  mem_limit?: string;
  healthcheck?: { test: string[] };
  command?: string[];
  ports?: string[];
  networks: Record<string, unknown> | string[];
  secrets?: string[];
  volumes?: (string | { source: string; target: string })[];
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
  secrets: Record<string, { file: string }>;
}

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `watchpost-role-${prefix}-`));
}

/** A site: an app's compose file, and the central's push token copied beside it. */
function site(): { dir: string; token: string } {
  const dir = tmp('agent');
  writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  recorder:\n    image: busybox:1\n');
  writeFileSync(join(dir, 'push_token.txt'), 'central-push-token-4f0a9c\n', { mode: 0o600 });
  return { dir, token: join(dir, 'push_token.txt') };
}

function agentOpts(dir: string, agent: Partial<NonNullable<InitOptions['agent']>> = {}): InitOptions {
  return {
    composeFiles: [],
    cwd: dir,
    env: {},
    out: () => {},
    dockerSocket: '/nonexistent.sock',
    role: 'agent',
    agent: {
      centralUrl: CENTRAL_URL,
      site: 'paris',
      host: 'recorder-1',
      pushTokenFile: join(dir, 'push_token.txt'),
      ...agent,
    },
  };
}

function centralOpts(dir: string): InitOptions {
  return {
    composeFiles: [],
    cwd: dir,
    env: {},
    out: () => {},
    dockerSocket: '/nonexistent.sock',
    role: 'central',
  };
}

/** Every service runs as the single-host overlay's do (docs/deploy.md). */
function assertHardened(compose: Compose): void {
  for (const [name, s] of Object.entries(compose.services)) {
    assert.equal(s.read_only, true, `${name} read_only`);
    assert.deepEqual(s.cap_drop, ['ALL'], `${name} cap_drop`);
    assert.deepEqual(s.security_opt, ['no-new-privileges:true'], `${name} no-new-privileges`);
    assert.match(s.user ?? '', /^[1-9]\d*:\d+$/, `${name} runs as a fixed non-root user`);
    assert.ok(s.pids_limit && s.mem_limit, `${name} limits`);
    assert.ok(s.healthcheck?.test.length, `${name} healthcheck`);
  }
}

describe('init --role agent: a site', () => {
  it('writes the exporter and vmagent pushing to the central host, and nothing else', async () => {
    const { dir } = site();
    const r = await runInit(agentOpts(dir));
    assert.equal(r.role, 'agent');
    const compose = parse(readFileSync(join(dir, OVERLAY_FILE), 'utf8'), { merge: true }) as Compose;
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'watchpost-agent',
      'watchpost-docker-proxy',
      'watchpost-exporter',
    ]);
    assert.deepEqual(compose.services['watchpost-docker-proxy']!.profiles, ['docker-proxy']);
    assertHardened(compose);
    const agent = compose.services['watchpost-agent']!;
    // The same release line as the central VictoriaMetrics, overridable.
    const vmVersion = PINNED_IMAGES.VICTORIAMETRICS_IMAGE.split(':')[1];
    assert.equal(agent.image, `\${VMAGENT_IMAGE:-victoriametrics/vmagent:${vmVersion}}`);
    assert.equal(agent.user, '65534:65534');
    assert.deepEqual(agent.command, [
      '-promscrape.config=/etc/vmagent/scrape.yml',
      `-remoteWrite.url=${CENTRAL_URL}`,
      '-remoteWrite.bearerTokenFile=/run/secrets/watchpost_push_token',
      '-remoteWrite.tmpDataPath=/var/lib/vmagent',
      '-remoteWrite.maxDiskUsagePerURL=${WATCHPOST_AGENT_QUEUE_MAX:-1GB}',
      '-remoteWrite.queues=1',
      '-httpListenAddr=127.0.0.1:8429',
    ]);
    // TLS verification on: no CA given means the image's CAs, never an insecure flag.
    assert.doesNotMatch(readFileSync(join(dir, OVERLAY_FILE), 'utf8'), /[Ii]nsecure/);
    assert.deepEqual(agent.volumes, [
      { type: 'bind', source: './watchpost/agent', target: '/etc/vmagent', read_only: true },
      { type: 'bind', source: './watchpost/agent-queue', target: '/var/lib/vmagent' },
    ]);
    assert.equal(agent.mem_limit, '64m');
    assert.deepEqual(agent.healthcheck!.test, [
      'CMD',
      'wget',
      '-q',
      '-O',
      '/dev/null',
      'http://127.0.0.1:8429/health',
    ]);
    assert.deepEqual(agent.secrets!.sort(), ['watchpost_metrics_token', 'watchpost_push_token']);
    // Nothing published at a site: the agent only goes out.
    assert.ok(Object.values(compose.services).every((s) => s.ports === undefined));
    assert.deepEqual(Object.keys(agent.networks).sort(), ['watchpost-egress', 'watchpost-monitoring']);
    assert.equal(compose.networks['watchpost-monitoring']?.internal, true);
    assert.deepEqual(Object.keys(compose.secrets).sort(), [
      'watchpost_metrics_token',
      'watchpost_push_token',
    ]);

    // No TSDB, rules, Alertmanager or Grafana at a site.
    const install = join(dir, INSTALL_DIR);
    assert.deepEqual(readdirSync(install).sort(), [
      '.init-manifest.json',
      'agent',
      'agent-queue',
      'secrets',
      'watchpost.yml',
    ]);
    assert.deepEqual(readdirSync(join(install, 'agent')), ['scrape.yml']);
    // The queue: writable by the secrets group, which the agent's user 65534 is given.
    const queue = statSync(join(install, 'agent-queue'));
    assert.equal(queue.mode & 0o777, 0o770);
    assert.equal(queue.gid, statSync(join(install, 'secrets', 'push_token')).gid);
    assert.deepEqual(readdirSync(join(install, 'secrets')).sort(), ['metrics_token', 'push_token']);
    // The central's token, copied, group-readable for the agent's user only.
    assert.equal(readFileSync(join(install, 'secrets', 'push_token'), 'utf8'), 'central-push-token-4f0a9c\n');
    assert.equal(statSync(join(install, 'secrets', 'push_token')).mode & 0o777, 0o640);
    assert.deepEqual(
      r.secrets.map((s) => `${s.path} ${s.action}`),
      ['watchpost/secrets/metrics_token generated', 'watchpost/secrets/push_token copied'],
    );

    const scrapeText = readFileSync(join(install, 'agent', 'scrape.yml'), 'utf8');
    const config = parse(scrapeText) as {
      global: { external_labels: Record<string, string> };
      scrape_configs: {
        job_name: string;
        authorization: { credentials_file: string };
        static_configs: { targets: string[] }[];
      }[];
      remote_write?: unknown;
      rule_files?: unknown;
      alerting?: unknown;
    };
    assert.deepEqual(config.global.external_labels, { site: 'paris', host: 'recorder-1' });
    assert.equal(config.scrape_configs.length, 1);
    assert.equal(config.scrape_configs[0]!.job_name, 'watchpost');
    assert.equal(
      config.scrape_configs[0]!.authorization.credentials_file,
      '/run/secrets/watchpost_metrics_token',
    );
    assert.deepEqual(config.scrape_configs[0]!.static_configs[0]!.targets, ['watchpost-exporter:9850']);
    // Where it pushes is the service's flags; no placeholder is left.
    assert.equal(config.remote_write, undefined);
    assert.doesNotMatch(scrapeText, /@/);
    assert.equal(config.rule_files, undefined);
    assert.equal(config.alerting, undefined);

    // The site's watchpost.yml configures the exporter and loads; no notifier runs at a site.
    const text = readFileSync(join(install, 'watchpost.yml'), 'utf8');
    assert.doesNotMatch(text, /^notifier:/m);
    writeFileSync(join(dir, 'w.yml'), text.replaceAll('/run/secrets/watchpost_', `${install}/secrets/`));
    assert.equal(loadConfigFile(join(dir, 'w.yml'), {}).exporter.listen, '0.0.0.0:9850');
  });

  it('verifies the central against a private CA when given one, and is idempotent', async () => {
    const { dir } = site();
    writeFileSync(join(dir, 'ca.pem'), PEM);
    await runInit(agentOpts(dir, { centralCaFile: 'ca.pem' }));
    const install = join(dir, INSTALL_DIR);
    assert.equal(readFileSync(join(install, 'agent', 'central-ca.pem'), 'utf8'), PEM);
    const compose = parse(readFileSync(join(dir, OVERLAY_FILE), 'utf8'), { merge: true }) as Compose;
    const flags = compose.services['watchpost-agent']!.command!;
    assert.deepEqual(
      flags.filter((f) => f.startsWith('-remoteWrite.tls')),
      ['-remoteWrite.tlsCAFile=/etc/vmagent/central-ca.pem'],
    );
    const again = await runInit(agentOpts(dir, { centralCaFile: 'ca.pem' }));
    assert.ok(again.files.every((f) => f.action === 'unchanged'));
    assert.ok(again.secrets.every((s) => s.action === 'kept' || s.action === 'present'));
  });

  it('writes a central URL compose would otherwise interpolate as it is', async () => {
    const { dir } = site();
    const url = 'https://central.example.com:9852/api/v1/write?x=$HOME#frag';
    await runInit(agentOpts(dir, { centralUrl: url }));
    const compose = parse(readFileSync(join(dir, OVERLAY_FILE), 'utf8'), { merge: true }) as Compose;
    // $$ is compose's escape of $: the container gets the URL unchanged.
    assert.ok(
      compose.services['watchpost-agent']!.command!.includes(`-remoteWrite.url=${url.replace('$', '$$$$')}`),
    );
  });

  it('refuses bad input with the option it came from, writing nothing', async () => {
    const cases: [Partial<NonNullable<InitOptions['agent']>>, RegExp][] = [
      [
        { centralUrl: 'http://central.example.com:9852/api/v1/write' },
        /--central-url .*expected an https:\/\/ URL/,
      ],
      [{ centralUrl: 'central:9852' }, /--central-url "central:9852"/],
      [{ centralUrl: 'https://user:pw@central.example.com/api/v1/write' }, /must not carry credentials/],
      [{ site: 'Paris Nord' }, /--site "Paris Nord": expected letters/],
      [{ host: '' }, /--host "": expected letters/],
      [{ centralCaFile: 'missing.pem' }, /--central-ca .*missing\.pem/],
      [{ pushTokenFile: 'nope' }, /--push-token-file .*nope/],
    ];
    for (const [agent, message] of cases) {
      const { dir } = site();
      await assert.rejects(runInit(agentOpts(dir, agent)), message, JSON.stringify(agent));
      assert.ok(!existsSync(join(dir, INSTALL_DIR)), `nothing written for ${JSON.stringify(agent)}`);
    }
    // No token at all: the central's is needed.
    const { dir } = site();
    const o = agentOpts(dir);
    delete o.agent!.pushTokenFile;
    await assert.rejects(runInit(o), /needs the central's push token: copy watchpost\/secrets\/push_token/);
  });
});

describe('init --role central: the central host', () => {
  it('writes its own compose project: write proxy, central Prometheus, VictoriaMetrics, Alertmanager, notifier, Grafana', async () => {
    const dir = tmp('central');
    const r = await runInit(centralOpts(dir));
    assert.equal(r.project, undefined);
    assert.ok(!existsSync(join(dir, OVERLAY_FILE)));
    const compose = parse(readFileSync(join(dir, CENTRAL_FILE), 'utf8'), { merge: true }) as Compose;
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'watchpost-alertmanager',
      'watchpost-grafana',
      'watchpost-notifier',
      'watchpost-prometheus',
      'watchpost-victoriametrics',
      'watchpost-write-proxy',
    ]);
    assertHardened(compose);
    const s = compose.services;
    assert.ok(s['watchpost-prometheus']!.command!.includes('--web.enable-remote-write-receiver'));
    // The receiver is reached only through the proxy: Prometheus publishes nothing.
    assert.equal(s['watchpost-prometheus']!.ports, undefined);
    assert.deepEqual(s['watchpost-write-proxy']!.ports, [
      '${WATCHPOST_PUSH_BIND:-0.0.0.0}:${WATCHPOST_PUSH_PORT:-9852}:9852',
    ]);
    const proxy = s['watchpost-write-proxy']!.command!;
    assert.equal(proxy[0], 'write-proxy');
    for (const flag of [
      '--upstream=http://watchpost-prometheus:9090',
      '--push-token-file=/run/secrets/watchpost_push_token',
      '--tls-cert=/etc/watchpost/tls/push.pem',
      '--tls-key=/run/secrets/watchpost_push_tls_key',
    ])
      assert.ok(proxy.includes(flag), flag);
    assert.equal(
      s['watchpost-victoriametrics']!.image,
      `\${VICTORIAMETRICS_IMAGE:-${PINNED_IMAGES.VICTORIAMETRICS_IMAGE}}`,
    );
    assert.ok(
      s['watchpost-victoriametrics']!.command!.includes('-retentionPeriod=${VICTORIAMETRICS_RETENTION:-12}'),
    );
    assert.deepEqual(s['watchpost-victoriametrics']!.networks, ['watchpost-monitoring']);
    assert.deepEqual(Object.keys(compose.secrets).sort(), [
      'watchpost_grafana_admin_password',
      'watchpost_metrics_token',
      'watchpost_notifier_token',
      'watchpost_push_tls_key',
      'watchpost_push_token',
    ]);

    const install = join(dir, INSTALL_DIR);
    assert.equal(
      readFileSync(join(install, 'prometheus', 'prometheus.yml'), 'utf8'),
      readFileSync(join(ROOT, 'provisioning', 'central', 'prometheus.yml'), 'utf8'),
    );
    const ds = parse(
      readFileSync(join(install, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8'),
    ) as {
      datasources: { type: string; uid: string; url: string }[];
    };
    // The dashboards' datasource uid, pointing at VictoriaMetrics' Prometheus-compatible API.
    assert.deepEqual(
      ds.datasources.map((d) => [d.type, d.uid, d.url]),
      [['prometheus', 'watchpost-prometheus', 'http://watchpost-victoriametrics:8428']],
    );
    assert.ok(statSync(join(install, 'targets')).isDirectory());
    assert.ok(statSync(join(install, 'tls')).isDirectory());
    // VictoriaMetrics (user 65534, given the secrets group) writes its data there.
    const data = statSync(join(install, 'victoriametrics'));
    assert.equal(data.mode & 0o777, 0o770);
    assert.equal(data.gid, statSync(join(install, 'secrets', 'push_token')).gid);
    assert.deepEqual(s['watchpost-victoriametrics']!.volumes, [
      { type: 'bind', source: './watchpost/victoriametrics', target: '/storage' },
    ]);
    assert.ok(existsSync(join(install, 'prometheus', 'rules', 'sites.rules.yml')));
    const push = readFileSync(join(install, 'secrets', 'push_token'), 'utf8');
    assert.match(push, /^[A-Za-z0-9_-]{43}\n$/);

    // watchpost.yml runs the notifier and loads.
    const text = readFileSync(join(install, 'watchpost.yml'), 'utf8');
    writeFileSync(join(dir, 'w.yml'), text.replaceAll('/run/secrets/watchpost_', `${install}/secrets/`));
    assert.equal(loadConfigFile(join(dir, 'w.yml'), {}).notifier.listen, '0.0.0.0:9851');

    const again = await runInit(centralOpts(dir));
    assert.ok(again.files.every((f) => f.action === 'unchanged'));
    assert.equal(readFileSync(join(install, 'secrets', 'push_token'), 'utf8'), push, 'the token is kept');
  });

  it('the single-host install stays as it was, a push token lying around included', async () => {
    const dir = tmp('single');
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  web:\n    image: busybox:1\n');
    const o: InitOptions = {
      composeFiles: [],
      cwd: dir,
      env: {},
      out: () => {},
      dockerSocket: '/nonexistent.sock',
    };
    const first = await runInit(o);
    assert.equal(first.role, 'single');
    const text = readFileSync(join(dir, OVERLAY_FILE), 'utf8');
    assert.doesNotMatch(text, /push_token|watchpost-agent|victoriametrics|write-proxy/);
    writeFileSync(join(dir, INSTALL_DIR, 'secrets', 'push_token'), 'x\n', { mode: 0o600 });
    const again = await runInit(o);
    assert.ok(again.files.every((f) => f.action === 'unchanged'));
    assert.ok(!again.secrets.some((s) => s.path.includes('push_token')));
  });
});

describe('init roles: the real checkers accept the output', () => {
  it('vmagent -dryRun takes the agent flags and scrape config init writes, and refuses a broken one', async (t) => {
    const vmagent = requireBinary(t, 'vmagent');
    if (!vmagent) return;
    const { dir } = site();
    writeFileSync(join(dir, 'ca.pem'), PEM);
    await runInit(agentOpts(dir, { centralCaFile: 'ca.pem' }));
    const install = join(dir, INSTALL_DIR);
    // The container's paths, pointed at the files; the queue bound at its default.
    const local = (text: string) =>
      text
        .replaceAll('/run/secrets/watchpost_', `${install}/secrets/`)
        .replaceAll('/etc/vmagent/', `${install}/agent/`)
        .replaceAll('/var/lib/vmagent', join(dir, 'queue'))
        .replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
    writeFileSync(join(dir, 'scrape.yml'), local(readFileSync(join(install, 'agent', 'scrape.yml'), 'utf8')));
    const compose = parse(readFileSync(join(dir, OVERLAY_FILE), 'utf8'), { merge: true }) as Compose;
    const flags = compose.services['watchpost-agent']!.command!.map(local).map((f) =>
      f.startsWith('-promscrape.config=') ? `-promscrape.config=${join(dir, 'scrape.yml')}` : f,
    );
    assert.ok(flags.some((f) => f.startsWith('-remoteWrite.tlsCAFile=')));
    const dry = (args: string[]) => spawnSync(vmagent, ['-dryRun', ...args], { encoding: 'utf8' });
    const ok = dry(flags);
    assert.equal(ok.status, 0, `${ok.stdout}${ok.stderr}`);
    // The checker is real: an unknown flag and an unknown key of the scrape config fail.
    assert.notEqual(dry([...flags, '-remoteWrite.noSuchFlag=1']).status, 0);
    writeFileSync(
      join(dir, 'scrape.yml'),
      local(readFileSync(join(install, 'agent', 'scrape.yml'), 'utf8')).replace(
        'external_labels',
        'extrnal_labels',
      ),
    );
    const bad = dry(flags);
    assert.notEqual(bad.status, 0);
    assert.match(`${bad.stdout}${bad.stderr}`, /extrnal_labels/);
  });

  it('docker-compose config (agent and central), promtool check config (central) and amtool check-config pass', async (t) => {
    const compose = requireBinary(t, 'docker-compose');
    const promtool = compose && requireBinary(t, 'promtool');
    const amtool = promtool && requireBinary(t, 'amtool');
    if (!compose || !promtool || !amtool) return;

    const { dir: siteDir } = site();
    writeFileSync(join(siteDir, 'ca.pem'), PEM);
    const url = 'https://central.example.com:9852/api/v1/write?x=$HOME';
    await runInit(agentOpts(siteDir, { centralCaFile: 'ca.pem', centralUrl: url }));
    const a = spawnSync(
      compose,
      ['-p', 'wpagentcheck', '-f', 'docker-compose.yml', '-f', OVERLAY_FILE, 'config'],
      {
        cwd: siteDir,
        encoding: 'utf8',
        env: { ...process.env, HOME: '/root-must-not-appear' },
      },
    );
    assert.equal(a.status, 0, a.stderr);
    const agent = (parse(a.stdout) as Compose).services['watchpost-agent']!;
    // Compose does not interpolate the URL: `config` prints it with the $ still escaped (as $$,
    // which the container gets as $), and nothing of $HOME.
    assert.ok(
      agent.command!.includes(`-remoteWrite.url=${url.replace('$', '$$$$')}`),
      JSON.stringify(agent.command),
    );
    assert.doesNotMatch(a.stdout, /root-must-not-appear/);
    // The queue bound at its default.
    assert.ok(agent.command!.includes('-remoteWrite.maxDiskUsagePerURL=1GB'));

    const dir = tmp('central-check');
    await runInit(centralOpts(dir));
    const c = spawnSync(compose, ['-p', 'wpcentralcheck', '-f', CENTRAL_FILE, 'config'], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(c.status, 0, c.stderr);
    assert.ok((parse(c.stdout) as Compose).services['watchpost-victoriametrics']);
    const install = join(dir, INSTALL_DIR);
    writeFileSync(join(install, 'tls', 'ca.pem'), PEM);
    const central = readFileSync(join(install, 'prometheus', 'prometheus.yml'), 'utf8')
      .replaceAll('/run/secrets/watchpost_', `${install}/secrets/`)
      .replaceAll('/etc/watchpost/', `${install}/`)
      .replace('/etc/prometheus/rules/', `${install}/prometheus/rules/`);
    writeFileSync(join(dir, 'central-check.yml'), central);
    const pc = spawnSync(promtool, ['check', 'config', join(dir, 'central-check.yml')], { encoding: 'utf8' });
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

describe('watchpost init --role: the command line', () => {
  const run = async (args: string[], cwd: string) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), env: {}, cwd });
    return { code, out, err };
  };

  it('refuses an unknown role and options of another role with a usage error', async () => {
    const dir = tmp('cli');
    for (const [args, message] of [
      [['init', '--role', 'edge'], /unknown --role "edge": expected agent or central/],
      [['init', '--site', 'paris'], /--site is an option of init --role agent/],
      [
        ['init', '--role', 'central', '--central-url', CENTRAL_URL],
        /--central-url is an option of init --role agent/,
      ],
      [['init', '--role', 'agent', '--site', 'paris'], /needs --central-url/],
      [['init', '--role', 'agent', '--central-url', CENTRAL_URL], /needs --site/],
    ] as const) {
      const r = await run([...args], dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it('write-proxy refuses to start without its upstream, its token, or with half a TLS pair', async () => {
    const dir = tmp('cli-proxy');
    for (const [args, message] of [
      [['write-proxy', '--push-token-file', 'token'], /needs --upstream URL/],
      [['write-proxy', '--upstream', 'http://127.0.0.1:9090'], /needs --push-token-file FILE/],
      [
        [
          'write-proxy',
          '--upstream',
          'http://127.0.0.1:9090',
          '--push-token-file',
          'token',
          '--tls-cert',
          'c.pem',
        ],
        /both --tls-cert and --tls-key/,
      ],
    ] as const) {
      const r = await run([...args], dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  it('sets up a site from the command line and never prints the token', async () => {
    const { dir, token } = site();
    const r = await run(
      [
        'init',
        '--role',
        'agent',
        '--central-url',
        CENTRAL_URL,
        '--site',
        'lyon',
        '--host',
        'rec-2',
        '--push-token-file',
        token,
      ],
      dir,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /--role agent \(site lyon, host rec-2\)/);
    assert.match(r.out, /copied\s+watchpost\/secrets\/push_token/);
    assert.doesNotMatch(r.out + r.err, /central-push-token-4f0a9c/);
    const bad = await run(
      [
        'init',
        '--role',
        'agent',
        '--central-url',
        'http://c:1/x',
        '--site',
        'lyon',
        '--push-token-file',
        token,
      ],
      site().dir,
    );
    assert.equal(bad.code === 0, false);
    assert.match(bad.err, /expected an https:\/\/ URL/);
  });
});
