import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { silentLogger } from '../../internal/log.js';
import { defaultConfig } from '../../config/load.js';
import { Secret } from '../../internal/secret.js';
import { DiskCollector } from '../../exporter/collectors/disk/disk.js';
import { HostCollector } from '../../exporter/collectors/host/host.js';
import { startExporter, type ExporterHandle } from '../../exporter/run.js';
import {
  eventually,
  freePort,
  promtoolCheckMetrics,
  requireBinary,
  runCli,
  startCli,
} from '../../internal/testing/helpers.js';

describe('exporter: one collector failing, one working', () => {
  let exporter: ExporterHandle;
  let base: string;

  before(async () => {
    const config = defaultConfig();
    config.exporter.listen = '127.0.0.1:0';
    // A real collector that really fails: the host collector pointed at a procfs that does not exist.
    const broken = { ...config, paths: { ...config.paths, procfs: '/nonexistent/proc' } };
    exporter = await startExporter({
      config,
      log: silentLogger,
      version: 'test',
      collectors: [
        {
          collector: new HostCollector({ config: broken, log: silentLogger }),
          settings: config.collectors.host,
        },
        { collector: new DiskCollector({ config, log: silentLogger }), settings: config.collectors.disk },
      ],
    });
    base = `http://127.0.0.1:${exporter.address.port}`;
    await eventually(
      async () => ((await fetch(`${base}/-/ready`)).status === 200 ? true : undefined),
      15_000,
      'ready',
    );
  });
  after(() => exporter.close());

  it('answers 200 with the working collector, the failed one reported as failed', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    assert.match(text, /^watchpost_collector_success\{collector="host"\} 0$/m);
    assert.match(text, /^watchpost_collector_success\{collector="disk"\} 1$/m);
    assert.match(
      text,
      /^watchpost_filesystem_size_bytes\{device="[^"]+",mountpoint="[^"]+",fstype="[^"]+"\} \d+/m,
    );
    assert.doesNotMatch(text, /^watchpost_host_memory_total_bytes/m, 'no values from the failed collector');
    assert.match(text, /^watchpost_collector_duration_seconds\{collector="disk"\} [0-9.e-]+$/m);
    assert.match(text, /^process_cpu_seconds_total \d/m, 'process metrics');
    assert.match(text, /^watchpost_exporter_build_info\{version="test",nodejs="v\d+/m);
  });

  it('the status page names the failing collector and its error', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<td>host<\/td><td>failed<\/td>/);
    assert.match(html, /\/nonexistent\/proc/);
    assert.match(html, /<td>disk<\/td><td>ok<\/td>/);
    assert.match(html, /href="metrics"/);
  });

  it('promtool check metrics reports nothing on the output', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const text = await (await fetch(`${base}/metrics`)).text();
    const r = promtoolCheckMetrics(promtool, text);
    assert.equal(r.output, '', r.output);
    assert.equal(r.status, 0);
  });

  it('serves gzip to scrapers that ask for it, the same content', async () => {
    const plain = exporter.exposition.plain();
    const res = await fetch(`${base}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
    // fetch decompresses transparently; check the header and the raw form separately.
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.deepEqual(gunzipSync(exporter.exposition.gzip()), plain);
  });

  it('health and 404', async () => {
    assert.equal((await fetch(`${base}/-/healthy`)).status, 200);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  });
});

describe('exporter: bearer token on /metrics', () => {
  it('requires the token when configured, and never echoes it', async () => {
    const config = defaultConfig();
    config.exporter.listen = '127.0.0.1:0';
    config.exporter.bearer_token_file = new Secret('tok-9f8e7d6c5b4a');
    const exporter = await startExporter({ config, log: silentLogger, version: 'test', collectors: [] });
    try {
      const url = `http://127.0.0.1:${exporter.address.port}/metrics`;
      const none = await fetch(url);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="watchpost"');
      assert.doesNotMatch(await none.text(), /tok-9f8e/);
      assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      const ok = await fetch(url, { headers: { authorization: 'Bearer tok-9f8e7d6c5b4a' } });
      assert.equal(ok.status, 200);
      assert.doesNotMatch(await ok.text(), /tok-9f8e/);
      assert.equal(
        (await fetch(`http://127.0.0.1:${exporter.address.port}/-/healthy`)).status,
        200,
        'health stays open',
      );
    } finally {
      await exporter.close();
    }
  });
});

describe('watchpost CLI', () => {
  it('--version and --help exit 0; no command and bad usage exit 2', () => {
    const v = runCli(['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^watchpost \d+\.\d+\.\d+\n$/);
    const h = runCli(['--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /Usage: watchpost <command>/);
    assert.equal(runCli([]).status, 2);
    const bad = runCli(['exporter', '--bogus']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'/);
    const unknown = runCli(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  it('check: exit 0 on a valid file, 2 with file:line and key on a broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-cli-'));
    const good = join(dir, 'good.yml');
    writeFileSync(good, 'collectors:\n  host:\n    interval: 30s\n');
    const ok = runCli(['check', '--config', good]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /good\.yml: OK \(collectors: host, disk[,)]/);
    assert.match(ok.stdout, /^ {2}streams: not started \(nothing configured\)$/m);
    const bad = join(dir, 'bad.yml');
    writeFileSync(
      bad,
      'collectors:\n  host:\n    interval: 30s\n    timeout: forever\n  disk:\n    alert_threshold: 0.9\n',
    );
    const r = runCli(['check', '--config', bad]);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /bad\.yml:4:14: collectors\.host\.timeout: expected the collection timeout as a duration/,
    );
    assert.match(
      r.stderr,
      /bad\.yml:6:5: collectors\.disk\.alert_threshold: unknown key "alert_threshold" \(did you mean "alert_threshold_ratio"\?\)/,
    );
    assert.equal(runCli(['check']).status, 2, 'check without a config is a usage error');
  });

  it('check and exporter: expected containers with enabled: auto and no Docker socket are an error naming the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-cli-'));
    const file = join(dir, 'watchpost.yml');
    const socket = join(dir, 'no-such-docker.sock');
    writeFileSync(
      file,
      `exporter:\n  listen: 127.0.0.1:0\ncollectors:\n  containers:\n    endpoint: unix://${socket}\n    expected:\n      - name: web\n`,
    );
    for (const command of ['check', 'exporter']) {
      const r = runCli([command, '--config', file]);
      assert.equal(r.status, 2, `${command}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `watchpost\\.yml:6:5: collectors\\.containers\\.expected: 1 expected container\\(s\\) configured, but no Docker socket at ${socket.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`,
        ),
      );
      assert.match(r.stderr, /Mount the Docker socket/);
      assert.match(r.stderr, /enabled: true/);
    }
    // enabled: true runs anyway (and reports Docker as unreachable); no expected: auto skips quietly.
    writeFileSync(
      file,
      `collectors:\n  containers:\n    enabled: true\n    endpoint: unix://${socket}\n    expected:\n      - name: web\n`,
    );
    assert.equal(runCli(['check', '--config', file]).status, 0);
    writeFileSync(file, `collectors:\n  containers:\n    endpoint: unix://${socket}\n`);
    const quiet = runCli(['check', '--config', file]);
    assert.equal(quiet.status, 0);
    assert.match(quiet.stdout, /containers: not started \(enabled: auto, no Docker socket/);
  });

  it('exporter with a broken config exits 2 naming the line, before listening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-cli-'));
    const bad = join(dir, 'watchpost.yml');
    writeFileSync(bad, 'exporter:\n  listen: 127.0.0.1:0\n  log_level: loud\n');
    const r = runCli(['exporter', '--config', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /watchpost\.yml:3:14: exporter\.log_level: expected one of/);
  });

  it('exits 1 when the address is taken', async () => {
    const first = await startCli(['exporter', '--listen', '127.0.0.1:0']);
    try {
      const r = runCli(['exporter', '--listen', `127.0.0.1:${first.port}`]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+: the address is already in use/);
    } finally {
      await first.stop();
    }
  });

  it('start with the built-in default serves disk, host and self metrics, and stops on SIGTERM with 0', async (t) => {
    const cli = await startCli(['start', '--listen', '127.0.0.1:0', '--notifier-listen', '127.0.0.1:0']);
    try {
      const base = `http://127.0.0.1:${cli.port}`;
      const notifierPort = await eventually(
        () => /msg="notifier listening" address=\S*:(\d+)/.exec(cli.stderr())?.[1],
        15_000,
        'notifier listening',
      );
      assert.equal(
        (await fetch(`http://127.0.0.1:${notifierPort}/-/healthy`)).status,
        200,
        'start runs the notifier too',
      );
      assert.match(
        cli.stderr(),
        /generated a bearer token for the notifier/,
        'the default notifier is authenticated from the first start',
      );
      await eventually(
        async () => ((await fetch(`${base}/-/ready`)).status === 200 ? true : undefined),
        15_000,
        'ready',
      );
      const text = await (await fetch(`${base}/metrics`)).text();
      for (const name of [
        'watchpost_filesystem_size_bytes',
        'watchpost_filesystem_avail_bytes',
        'watchpost_filesystem_used_ratio',
        'watchpost_filesystem_readonly',
        'watchpost_filesystem_alert_threshold_ratio',
        'watchpost_host_memory_total_bytes',
        'watchpost_host_memory_available_bytes',
        'watchpost_host_load1',
        'watchpost_host_uptime_seconds',
        'watchpost_collector_success',
        'watchpost_collector_last_success_timestamp_seconds',
      ]) {
        assert.match(text, new RegExp(`^${name}(\\{|\\s)`, 'm'), `${name} is served`);
      }
      assert.match(text, /^watchpost_collector_success\{collector="disk"\} 1$/m);
      assert.match(text, /^watchpost_collector_success\{collector="host"\} 1$/m);
      const promtool = requireBinary(t, 'promtool');
      if (promtool) assert.equal(promtoolCheckMetrics(promtool, text).output, '');
    } finally {
      assert.equal(await cli.stop('SIGTERM'), 0, cli.stderr());
    }
    assert.match(cli.stderr(), /msg="shutting down" signal=SIGTERM/);
    assert.match(cli.stderr(), /msg="exporter stopped"/);
  });

  it('each service logs at its own level: notifier.log_level, not exporter.log_level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-levels-'));
    const notifierPort = await freePort();
    const quietNotifier = join(dir, 'quiet-notifier.yml');
    writeFileSync(
      quietNotifier,
      `exporter:\n  listen: 127.0.0.1:0\n  log_level: info\nnotifier:\n  listen: 127.0.0.1:${notifierPort}\n  log_level: warn\n  state_dir: ${join(dir, 'state')}\n`,
    );
    const both = await startCli(['start', '--config', quietNotifier]);
    try {
      await eventually(
        async () => ((await fetch(`http://127.0.0.1:${notifierPort}/-/healthy`)).ok ? true : undefined),
        15_000,
        'the notifier answering',
      );
    } finally {
      assert.equal(await both.stop('SIGTERM'), 0, both.stderr());
    }
    assert.match(both.stderr(), /msg="exporter listening"/, 'the exporter logs at info');
    assert.match(both.stderr(), /msg="exporter stopped"/);
    assert.doesNotMatch(both.stderr(), /msg="notifier (listening|stopped)"/, 'the notifier logs at warn');

    const quietExporter = join(dir, 'quiet-exporter.yml');
    writeFileSync(
      quietExporter,
      `exporter:\n  log_level: error\nnotifier:\n  listen: 127.0.0.1:0\n  log_level: info\n  state_dir: ${join(dir, 'state')}\n`,
    );
    // Before the fix, the notifier alone logged at exporter.log_level and never said where it listens.
    const alone = await startCli(['notifier', '--config', quietExporter], {}, { service: 'notifier' });
    await eventually(
      async () => ((await fetch(`http://127.0.0.1:${alone.port}/-/healthy`)).ok ? true : undefined),
      15_000,
      'the notifier answering',
    );
    assert.equal(await alone.stop('SIGTERM'), 0, alone.stderr());
    assert.match(alone.stderr(), /msg="notifier stopped"/);
  });
});
