import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { parseConfigText } from '../../../config/load.js';
import { silentLogger } from '../../../internal/log.js';
import { docker, requireDocker, TestContainers } from '../../../internal/testing/docker.js';
import { eventually, promtoolCheckMetrics, requireBinary } from '../../../internal/testing/helpers.js';
import { collectSamples, collectText } from '../../../test/samples.js';
import { performance } from 'node:perf_hooks';
import { LogsCollector, REFRESH_BYTES, REFRESH_GAP_MS } from './logs.js';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-logs-'));
const containers = new TestContainers();
after(() => {
  rmSync(dir, { recursive: true, force: true });
  containers.removeAll();
});

function collector(yaml: string, opts: { refreshGapMs?: number } = {}): LogsCollector {
  const config = parseConfigText(yaml, 'test.yml', {});
  return new LogsCollector({ config, log: silentLogger }, { pollMs: 20, ...opts });
}

/**
 * A logs collector following one new, empty sshd log (`file` in dir) as source `name`,
 * closed after the test; `settings`: more lines of collectors.logs.
 */
function followEmptySshd(
  t: TestContext,
  file: string,
  name: string,
  opts: { settings?: string; refreshGapMs?: number } = {},
): { path: string; c: LogsCollector } {
  const path = join(dir, file);
  writeFileSync(path, '');
  const c = collector(
    `
collectors:
  logs:
${opts.settings === undefined ? '' : `    ${opts.settings}\n`}    sources: [{ name: ${name}, file: ${path}, format: sshd }]
`,
    { refreshGapMs: opts.refreshGapMs },
  );
  t.after(() => c.close());
  return { path, c };
}

async function run(c: LogsCollector): Promise<Map<string, number>> {
  return collectSamples(c);
}

/** Polls until the collector's samples satisfy `ok`. */
function until(c: LogsCollector, ok: (s: Map<string, number>) => boolean, what: string) {
  return eventually(
    async () => {
      const s = await run(c);
      return ok(s) ? s : undefined;
    },
    10_000,
    what,
  );
}

describe('logs collector: files', () => {
  it('counts sshd, nginx and json sources; a missing file is down and fails nothing', async (t) => {
    const auth = join(dir, 'auth.log');
    const access = join(dir, 'access.log');
    const app = join(dir, 'app.log');
    writeFileSync(auth, 'Nov 22 05:00:00 h sshd[1]: Failed password for root from 10.0.0.9 port 1 ssh2\n');
    writeFileSync(access, '');
    const c = collector(`
collectors:
  logs:
    sources:
      - { name: ssh, file: ${auth}, format: sshd }
      - { name: web, file: ${access}, format: nginx, login_paths: [/login, /api/auth] }
      - name: app
        file: ${app}
        format: json
        json: { result_field: event, failure_values: [login_failed], success_values: [login_ok], client_field: ip }
      - { name: gone, file: ${join(dir, 'missing', 'x.log')}, format: sshd }
`);
    t.after(() => c.close());
    let s = await until(c, (s) => s.get('watchpost_log_source_up{source="ssh"}') === 1, 'ssh up');
    // The line present at start is history: not counted.
    assert.equal(s.get('watchpost_auth_attempts_total{source="ssh",result="failure"}'), 0);
    assert.equal(s.get('watchpost_log_source_up{source="gone"}'), 0);
    assert.equal(s.get('watchpost_http_responses_total{source="web",code_class="5xx"}'), 0);

    appendFileSync(
      auth,
      [
        'Nov 22 05:00:01 h sshd[2]: Failed password for root from 10.0.0.1 port 1 ssh2',
        'Nov 22 05:00:02 h sshd[2]: Failed password for invalid user a from 10.0.0.1 port 1 ssh2',
        'Nov 22 05:00:03 h sshd[3]: Accepted publickey for deploy from 10.0.0.2 port 1 ssh2: ED25519 x',
        '',
      ].join('\n'),
    );
    appendFileSync(
      access,
      [
        '10.1.0.1 - - [22/Nov/2026:05:00:00 +0000] "POST /login HTTP/1.1" 401 5 "-" "x"',
        '10.1.0.2 - - [22/Nov/2026:05:00:00 +0000] "POST /api/auth HTTP/1.1" 200 5 "-" "x"',
        '10.1.0.2 - - [22/Nov/2026:05:00:00 +0000] "GET / HTTP/1.1" 500 5 "-" "x"',
        'garbage',
        '',
      ].join('\n'),
    );
    const appText = '{"event":"login_failed","ip":"10.2.0.1"}\nnot json\n{"event":"login_ok"}\n';
    writeFileSync(app, appText);
    s = await until(c, (s) => s.get('watchpost_log_lines_total{source="app"}') === 3, 'app lines');
    s = await until(c, (s) => s.get('watchpost_log_lines_total{source="web"}') === 4, 'web lines');
    s = await until(c, (s) => s.get('watchpost_log_lines_total{source="ssh"}') === 3, 'ssh lines');
    const expected: Record<string, number> = {
      'watchpost_auth_attempts_total{source="ssh",result="failure"}': 2,
      'watchpost_auth_attempts_total{source="ssh",result="success"}': 1,
      'watchpost_auth_failures_by_client_total{source="ssh",client="10.0.0.1"}': 2,
      'watchpost_auth_attempts_total{source="web",result="failure"}': 1,
      'watchpost_auth_attempts_total{source="web",result="success"}': 1,
      'watchpost_auth_failures_by_client_total{source="web",client="10.1.0.1"}': 1,
      'watchpost_http_responses_total{source="web",code_class="4xx"}': 1,
      'watchpost_http_responses_total{source="web",code_class="2xx"}': 1,
      'watchpost_http_responses_total{source="web",code_class="5xx"}': 1,
      'watchpost_log_parse_errors_total{source="web"}': 1,
      'watchpost_auth_attempts_total{source="app",result="failure"}': 1,
      'watchpost_auth_attempts_total{source="app",result="success"}': 1,
      'watchpost_auth_failures_by_client_total{source="app",client="10.2.0.1"}': 1,
      'watchpost_log_parse_errors_total{source="app"}': 1,
      'watchpost_log_source_up{source="app"}': 1,
      'watchpost_log_source_up{source="gone"}': 0,
      'watchpost_log_read_errors_total{source="gone"}': 0,
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(s.get(k), v, k);
    assert.equal(s.get('watchpost_log_bytes_total{source="app"}'), Buffer.byteLength(appText));

    // Rotation keeps counting, without counting anything twice.
    renameSync(auth, `${auth}.1`);
    writeFileSync(auth, 'Nov 22 05:00:04 h sshd[4]: Failed password for root from 10.0.0.1 port 1 ssh2\n');
    s = await until(c, (s) => s.get('watchpost_log_lines_total{source="ssh"}') === 4, 'ssh after rotation');
    assert.equal(s.get('watchpost_auth_failures_by_client_total{source="ssh",client="10.0.0.1"}'), 3);

    const promtool = requireBinary(t, 'promtool');
    if (promtool) {
      const r = promtoolCheckMetrics(promtool, await collectText(c));
      assert.equal(r.status, 0, r.output);
      assert.equal(r.output, '');
    }
  });

  it('counts one failure per sshd attempt from a followed file (fixtures/logs/sshd-attempts.txt)', async (t) => {
    const auth = join(dir, 'auth-attempts.log');
    writeFileSync(auth, '');
    const c = collector(`
collectors:
  logs:
    sources:
      - { name: ssh, file: ${auth}, format: sshd }
`);
    t.after(() => c.close());
    await until(c, (s) => s.get('watchpost_log_source_up{source="ssh"}') === 1, 'ssh up');
    const text = readFileSync(
      join(import.meta.dirname, '..', '..', 'sources', 'fixtures', 'logs', 'sshd-attempts.txt'),
    );
    appendFileSync(auth, text);
    const lines = text.toString().trimEnd().split('\n').length;
    const s = await until(c, (s) => s.get('watchpost_log_lines_total{source="ssh"}') === lines, 'all lines');
    const expected: Record<string, number> = {
      'watchpost_auth_attempts_total{source="ssh",result="failure"}': 17,
      'watchpost_auth_attempts_total{source="ssh",result="success"}': 1,
      'watchpost_auth_failures_by_client_total{source="ssh",client="198.51.100.20"}': 2,
      'watchpost_auth_failures_by_client_total{source="ssh",client="203.0.113.30"}': 2,
      'watchpost_auth_failures_by_client_total{source="ssh",client="203.0.113.31"}': 5,
      'watchpost_auth_failures_by_client_total{source="ssh",client="192.0.2.40"}': 1,
      'watchpost_auth_failures_by_client_total{source="ssh",client="192.0.2.41"}': 3,
      'watchpost_auth_failures_by_client_total{source="ssh",client="::ffff:203.0.113.81"}': 1,
      'watchpost_auth_failures_by_client_total{source="ssh",client="::1"}': 1,
      'watchpost_auth_failures_by_client_total{source="ssh",client="198.51.100.21"}': 1,
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(s.get(k), v, k);
    assert.equal(
      s.get('watchpost_auth_failures_by_client_total{source="ssh",client="6.6.6.6"}'),
      undefined,
      'a sudo line is not an sshd failure',
    );
  });

  it('keeps at most max_clients client series per source and counts evictions', async (t) => {
    const { path: auth, c } = followEmptySshd(t, 'flood.log', 'flood', { settings: 'max_clients: 100' });
    await until(c, (s) => s.get('watchpost_log_source_up{source="flood"}') === 1, 'up');
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      lines.push(
        `sshd[9]: Failed password for root from 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} port 2 ssh2`,
      );
    }
    appendFileSync(auth, `${lines.join('\n')}\n`);
    const s = await until(
      c,
      (s) => s.get('watchpost_log_lines_total{source="flood"}') === 5000,
      'flood read',
    );
    const series = [...s.keys()].filter((k) => k.startsWith('watchpost_auth_failures_by_client_total{'));
    assert.equal(series.length, 100);
    assert.equal(s.get('watchpost_auth_clients_evicted_total{source="flood"}'), 4900);
    assert.equal(s.get('watchpost_auth_attempts_total{source="flood",result="failure"}'), 5000);
    // The most recent clients are the ones kept.
    assert.equal(s.get('watchpost_auth_failures_by_client_total{source="flood",client="10.0.19.135"}'), 1);
    assert.equal(
      s.get('watchpost_auth_failures_by_client_total{source="flood",client="10.0.0.1"}'),
      undefined,
    );
    // A kept client seen again is most recent again; the series count stays at the cap.
    appendFileSync(auth, 'sshd[9]: Failed password for root from 10.0.19.36 port 2 ssh2\n');
    appendFileSync(auth, 'sshd[9]: Failed password for root from 10.9.9.9 port 2 ssh2\n');
    const s2 = await until(c, (s) => s.get('watchpost_log_lines_total{source="flood"}') === 5002, 'more');
    assert.equal(
      [...s2.keys()].filter((k) => k.startsWith('watchpost_auth_failures_by_client_total{')).length,
      100,
    );
    assert.equal(s2.get('watchpost_auth_failures_by_client_total{source="flood",client="10.0.19.36"}'), 2);
    assert.equal(s2.get('watchpost_auth_clients_evicted_total{source="flood"}'), 4901);
  });
});

describe('logs collector: start', () => {
  it('is positioned in each file once its first run is done: lines appended right after are counted', async (t) => {
    // A file with content is followed from its end. The first run (what /-/ready waits
    // for) must not end before the file is opened, or an append right after it would be
    // taken for old content and never counted.
    for (let i = 0; i < 5; i++) {
      const { path: auth, c } = followEmptySshd(t, `start-${i}.log`, 's');
      await run(c);
      appendFileSync(auth, 'sshd[1]: Failed password for root from 10.0.0.1 port 2 ssh2\n'.repeat(1000));
      await until(c, (s) => s.get('watchpost_log_lines_total{source="s"}') === 1000, `1000 lines (try ${i})`);
    }
  });
});

describe('logs collector: refresh', () => {
  it('asks the runner for a run when a file source caught up with new lines, at most one per REFRESH_GAP_MS', async (t) => {
    const { path: auth, c } = followEmptySshd(t, 'refresh.log', 'r');
    const asked: number[] = [];
    c.setRefresh(() => asked.push(performance.now()));
    await until(c, (s) => s.get('watchpost_log_source_up{source="r"}') === 1, 'up');
    assert.equal(asked.length, 0, 'nothing read: no run asked for');
    appendFileSync(auth, 'sshd[1]: Failed password for root from 10.0.0.1 port 2 ssh2\n');
    await eventually(() => (asked.length === 1 ? true : undefined), 10_000, 'a run asked for');
    // The run shows the line at once.
    const s = await run(c);
    assert.equal(s.get('watchpost_auth_attempts_total{source="r",result="failure"}'), 1);
    // Two more bursts, most likely within the gap.
    appendFileSync(auth, 'sshd[1]: Failed password for root from 10.0.0.1 port 3 ssh2\n');
    await until(c, (s) => s.get('watchpost_log_lines_total{source="r"}') === 2, 'second line');
    const thirdAppendedAt = performance.now();
    appendFileSync(auth, 'sshd[1]: Failed password for root from 10.0.0.1 port 4 ssh2\n');
    await until(c, (s) => s.get('watchpost_log_lines_total{source="r"}') === 3, 'third line');
    // A run follows the last burst (the gap's trailing run), and runs are at least the gap apart.
    await eventually(
      () => (asked.at(-1)! >= thirdAppendedAt ? true : undefined),
      10_000,
      'a run after the last burst',
    );
    await new Promise((r) => setTimeout(r, REFRESH_GAP_MS + 200));
    assert.ok(asked.length >= 2 && asked.length <= 3, `${asked.length} runs for 3 bursts`);
    for (let i = 1; i < asked.length; i++)
      assert.ok(
        asked[i]! - asked[i - 1]! >= REFRESH_GAP_MS - 1,
        `runs ${asked[i]! - asked[i - 1]!} ms apart`,
      );
  });
  it('asks for a run at once, within the gap, when a burst of REFRESH_BYTES or more was read', async (t) => {
    // A gap no test waits for: a second run can only come from the bytes read.
    const { path: auth, c } = followEmptySshd(t, 'refresh-burst.log', 'b', { refreshGapMs: 3_600_000 });
    const asked: number[] = [];
    c.setRefresh(() => asked.push(performance.now()));
    await until(c, (s) => s.get('watchpost_log_source_up{source="b"}') === 1, 'up');
    appendFileSync(auth, 'sshd[1]: Failed password for root from 10.0.0.1 port 2 ssh2\n');
    await eventually(() => (asked.length === 1 ? true : undefined), 10_000, 'the first run asked for');
    // Less than REFRESH_BYTES: no run before the gap.
    appendFileSync(auth, 'sshd[1]: Failed password for root from 10.0.0.1 port 3 ssh2\n');
    await until(c, (s) => s.get('watchpost_log_lines_total{source="b"}') === 2, 'second line');
    assert.equal(asked.length, 1, 'a small burst waits for the gap');
    // More than REFRESH_BYTES in one burst: a run at once.
    const line = 'sshd[1]: Failed password for root from 10.0.0.2 port 4 ssh2\n';
    const lines = Math.ceil((REFRESH_BYTES * 1.5) / line.length);
    appendFileSync(auth, line.repeat(lines));
    await eventually(() => (asked.length === 2 ? true : undefined), 10_000, 'a run after the large burst');
    const s = await run(c);
    assert.equal(s.get('watchpost_log_lines_total{source="b"}'), 2 + lines);
  });
});

describe('logs collector: Docker container logs', () => {
  it('follows a real container by name, and again after it restarts', async (t) => {
    if (!requireDocker(t)) return;
    const name = containers.run(
      'sshd',
      [],
      [
        'sh',
        '-c',
        'while true; do echo "sshd[7]: Failed password for root from 10.0.0.1 port 22 ssh2"; echo "noise" >&2; sleep 0.2; done',
      ],
    );
    // A container of a Compose service (the labels Compose sets), without a TTY (multiplexed stream).
    containers.run(
      'web',
      [
        '--label',
        `com.docker.compose.project=${containers.prefix}proj`,
        '--label',
        'com.docker.compose.service=web',
      ],
      [
        'sh',
        '-c',
        'while true; do echo "Accepted publickey for bob from 10.0.0.2 port 22 ssh2"; sleep 0.2; done',
      ],
    );
    // With a TTY, Docker sends the raw stream (no frame headers).
    const tty = containers.run(
      'tty',
      ['-t'],
      [
        'sh',
        '-c',
        'while true; do echo "Failed password for root from 10.0.0.3 port 22 ssh2"; sleep 0.2; done',
      ],
    );
    const c = collector(`
collectors:
  logs:
    sources:
      - { name: ctr, container: ${name}, format: sshd }
      - { name: tty, container: ${tty}, format: sshd }
      - { name: svc, compose_service: web, compose_project: ${containers.prefix}proj, format: sshd }
      - { name: nope, container: ${containers.prefix}does-not-exist, format: sshd }
`);
    t.after(() => c.close());
    let s = await until(
      c,
      (s) => (s.get('watchpost_auth_failures_by_client_total{source="ctr",client="10.0.0.1"}') ?? 0) >= 3,
      'failures from the container',
    );
    assert.equal(s.get('watchpost_log_source_up{source="ctr"}'), 1);
    assert.equal(s.get('watchpost_log_source_up{source="nope"}'), 0);
    s = await until(
      c,
      (s) => (s.get('watchpost_auth_attempts_total{source="svc",result="success"}') ?? 0) >= 2,
      'successes from the compose service',
    );
    assert.equal(s.get('watchpost_log_source_up{source="svc"}'), 1);
    s = await until(
      c,
      (s) => (s.get('watchpost_auth_failures_by_client_total{source="tty",client="10.0.0.3"}') ?? 0) >= 2,
      'failures from the TTY container',
    );
    // stdout and stderr both arrive, demultiplexed into whole lines.
    const lines = s.get('watchpost_log_lines_total{source="ctr"}')!;
    const failures = s.get('watchpost_auth_attempts_total{source="ctr",result="failure"}')!;
    assert.ok(lines >= 2 * failures - 2, `${lines} lines, ${failures} failures`);

    docker('stop', '-t', '0', name);
    s = await until(c, (s) => s.get('watchpost_log_source_up{source="ctr"}') === 0, 'down when stopped');
    const before = s.get('watchpost_auth_attempts_total{source="ctr",result="failure"}')!;
    docker('start', name);
    s = await until(
      c,
      (s) => s.get('watchpost_auth_attempts_total{source="ctr",result="failure"}')! >= before + 3,
      'counting again after the restart',
    );
    assert.equal(s.get('watchpost_log_source_up{source="ctr"}'), 1);
    assert.equal(s.get('watchpost_log_read_errors_total{source="ctr"}'), 0);
  });
});
