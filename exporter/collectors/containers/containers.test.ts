import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { defaultConfig } from '../../../config/load.js';
import { createLogger, silentLogger } from '../../../internal/log.js';
import type { Config } from '../../../config/schema.js';
import { docker, requireDocker, TestContainers } from '../../../internal/testing/docker.js';
import { eventually, promtoolCheckMetrics, requireBinary } from '../../../internal/testing/helpers.js';
import type { ContainerInfo, DockerSource } from '../../sources/docker.js';
import { ContainersCollector } from './containers.js';
import { Exposition } from '../../exposition.js';
import { Scheduler } from '../../scheduler.js';
import { collectText, parseSamples } from '../../../test/samples.js';

type ContainersConfig = Config['collectors']['containers'];

function collectorWith(settings: Partial<ContainersConfig>): ContainersCollector {
  const config = defaultConfig();
  return new ContainersCollector({
    config: {
      ...config,
      collectors: { ...config.collectors, containers: { ...config.collectors.containers, ...settings } },
    },
    log: silentLogger,
  });
}

/** What the runner last served for each collector: the text of its last accepted run. */
const served = new WeakMap<ContainersCollector, string>();

async function run(c: ContainersCollector, signal: AbortSignal = AbortSignal.timeout(10_000)): Promise<void> {
  served.set(c, await collectText(c, signal));
}

const samples = async (c: ContainersCollector) => parseSamples(served.get(c) ?? '');

/** Runs the collector until `check` passes on its output (or fails after `ms`). */
async function until(
  c: ContainersCollector,
  what: string,
  check: (s: Map<string, number>) => boolean,
  ms = 20_000,
): Promise<Map<string, number>> {
  return eventually(
    async () => {
      await run(c);
      const s = await samples(c);
      return check(s) ? s : undefined;
    },
    ms,
    what,
  );
}

const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';
const HEALTH = ['--health-interval', '1s', '--health-retries', '1'];

describe('containers collector against a real dockerd', () => {
  const tc = new TestContainers();
  const project = `${tc.prefix}shop`;
  let available = true;
  const collectors: ContainersCollector[] = [];
  const names: Record<string, string> = {};

  /** Labels of a test container in the exposition, in prom-client's order. */
  const labelsOf = (key: string, service = '', image = 'local/busybox:1') =>
    `name="${names[key]}",image="${image}",compose_project="${service ? project : ''}",compose_service="${service}"`;

  before(() => {
    const compose = (service: string) => [
      '--label',
      `${PROJECT_LABEL}=${project}`,
      '--label',
      `${SERVICE_LABEL}=${service}`,
    ];
    try {
      if (spawnDockerInfo() !== 0) return;
      names.healthy = tc.run(
        'healthy',
        [...compose('web'), '--memory', '64m', '--health-cmd', 'true', ...HEALTH],
        ['sleep', '3600'],
      );
      names.unhealthy = tc.run(
        'unhealthy',
        [...compose('worker'), '--health-cmd', 'false', ...HEALTH],
        ['sleep', '3600'],
      );
      names.exit3 = tc.run('exit3', [], ['sh', '-c', 'exit 3']);
      names.oom = tc.run(
        'oom',
        ['--memory', '8m', '--memory-swap', '8m'],
        ['sh', '-c', 'x=a; while true; do x=$x$x; done'],
      );
      names.restarting = tc.run(
        'restarting',
        ['--restart', 'on-failure:50'],
        ['sh', '-c', 'sleep 0.2; exit 1'],
      );
      names.created = tc.create('created', [], ['sleep', '3600']);
      names.stopme = tc.run('stopme', [...compose('stopme')], ['sleep', '3600']);
    } catch (err) {
      tc.removeAll();
      throw err;
    }
  });

  after(() => {
    for (const c of collectors) c.close();
    tc.removeAll();
  });

  const skipUnless = (t: TestContext) => {
    available = requireDocker(t);
    return available;
  };

  it('exports state, health, exit code, OOM kill, restarts, start time, CPU and memory of every container', async (t) => {
    if (!skipUnless(t)) return;
    const c = collectorWith({
      endpoint: 'unix:///var/run/docker.sock',
      resync_interval: 3_600_000,
      expected: [
        { compose_project: project, compose_service: 'web' },
        { compose_project: project, compose_service: 'worker' },
        { name: `${tc.prefix}ghost` },
      ],
    });
    collectors.push(c);
    const L = labelsOf;
    // A cold dockerd (CI starts it just before the tests) can take a while to OOM-kill and
    // restart; the wait is bounded and names what it still waits for.
    const wanted: [string, (s: Map<string, number>) => boolean][] = [
      [
        'healthy',
        (s) => s.get(`watchpost_container_health_status{${L('healthy', 'web')},status="healthy"}`) === 1,
      ],
      [
        'unhealthy',
        (s) =>
          s.get(`watchpost_container_health_status{${L('unhealthy', 'worker')},status="unhealthy"}`) === 1,
      ],
      ['OOM-killed', (s) => s.get(`watchpost_container_oom_killed{${L('oom')}}`) === 1],
      ['restarted', (s) => (s.get(`watchpost_container_restarts_total{${L('restarting')}}`) ?? 0) >= 1],
      ['exited 3', (s) => s.get(`watchpost_container_exit_code{${L('exit3')}}`) === 3],
    ];
    let unmet: string[] = [];
    const s = await until(
      c,
      'healthy, unhealthy, OOM-killed, restarted and exited containers',
      (s) => {
        unmet = wanted.filter(([, ok]) => !ok(s)).map(([name]) => name);
        return unmet.length === 0;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; still waiting for: ${unmet.join(', ')}`);
    });

    // Running, healthy, with compose labels, a memory limit, CPU and memory from cgroup files.
    const healthy = L('healthy', 'web');
    assert.equal(s.get(`watchpost_container_running{${healthy}}`), 1);
    assert.equal(s.get(`watchpost_container_state{${healthy},state="running"}`), 1);
    for (const state of ['created', 'paused', 'restarting', 'exited', 'dead']) {
      assert.equal(s.get(`watchpost_container_state{${healthy},state="${state}"}`), 0, state);
    }
    for (const status of ['unhealthy', 'starting', 'none']) {
      assert.equal(s.get(`watchpost_container_health_status{${healthy},status="${status}"}`), 0, status);
    }
    assert.equal(s.get(`watchpost_container_exit_code{${healthy}}`), 0);
    assert.equal(s.get(`watchpost_container_oom_killed{${healthy}}`), 0);
    assert.equal(s.get(`watchpost_container_restarts_total{${healthy}}`), 0);
    const started = Date.parse(docker('inspect', '--format', '{{.State.StartedAt}}', names.healthy!)) / 1000;
    assert.ok(
      Math.abs(s.get(`watchpost_container_started_at_timestamp_seconds{${healthy}}`)! - started) < 0.01,
    );
    assert.ok(s.get(`watchpost_container_cpu_seconds_total{${healthy}}`)! > 0);
    assert.ok(s.get(`watchpost_container_memory_usage_bytes{${healthy}}`)! > 0);
    assert.equal(s.get(`watchpost_container_memory_limit_bytes{${healthy}}`), 64 * 1024 * 1024);

    // Exited with code 3, no healthcheck, no compose labels, no CPU/memory once stopped.
    const exit3 = L('exit3');
    assert.equal(s.get(`watchpost_container_running{${exit3}}`), 0);
    assert.equal(s.get(`watchpost_container_state{${exit3},state="exited"}`), 1);
    assert.equal(s.get(`watchpost_container_health_status{${exit3},status="none"}`), 1);
    assert.equal(s.get(`watchpost_container_cpu_seconds_total{${exit3}}`), undefined);
    assert.equal(s.get(`watchpost_container_memory_usage_bytes{${exit3}}`), undefined);

    // OOM-killed: exited, 137, oom_killed 1.
    assert.equal(s.get(`watchpost_container_state{${L('oom')},state="exited"}`), 1);
    assert.equal(s.get(`watchpost_container_exit_code{${L('oom')}}`), 137);

    // Restart loop: restarting between runs (exit code 1), or briefly running (0 again).
    const restarting = L('restarting');
    assert.ok([0, 1].includes(s.get(`watchpost_container_exit_code{${restarting}}`)!));
    assert.equal(
      s.get(`watchpost_container_state{${restarting},state="restarting"}`)! +
        s.get(`watchpost_container_state{${restarting},state="running"}`)!,
      1,
    );

    // Created, never started: no start time.
    const created = L('created');
    assert.equal(s.get(`watchpost_container_state{${created},state="created"}`), 1);
    assert.equal(s.get(`watchpost_container_started_at_timestamp_seconds{${created}}`), undefined);

    // Unhealthy container.
    assert.equal(s.get(`watchpost_container_health_status{${L('unhealthy', 'worker')},status="healthy"}`), 0);

    // Expected services: present ones counted, a missing one visible as 0.
    assert.equal(
      s.get(`watchpost_container_expected{name="",compose_project="${project}",compose_service="web"}`),
      1,
    );
    assert.equal(
      s.get(
        `watchpost_container_expected_running{name="",compose_project="${project}",compose_service="web"}`,
      ),
      1,
    );
    assert.equal(
      s.get(
        `watchpost_container_expected_running{name="",compose_project="${project}",compose_service="worker"}`,
      ),
      1,
    );
    const ghost = `name="${tc.prefix}ghost",compose_project="",compose_service=""`;
    assert.equal(s.get(`watchpost_container_expected{${ghost}}`), 1);
    assert.equal(s.get(`watchpost_container_expected_running{${ghost}}`), 0);

    const promtool = requireBinary(t, 'promtool');
    if (promtool) {
      const r = promtoolCheckMetrics(promtool, served.get(c) ?? '');
      assert.equal(r.status, 0, r.output);
      assert.equal(r.output, '');
    }
  });

  it('shows a docker stop within seconds through events, without a resync or inspecting everything', async (t) => {
    if (!skipUnless(t)) return;
    // Only this test's project: other containers on the daemon (a concurrent test's compose
    // project, another user's) have events of their own, which it rightly inspects.
    const c = collectorWith({ resync_interval: 3_600_000, label_filter: [`${PROJECT_LABEL}=${project}`] });
    collectors.push(c);
    await run(c);
    await run(c);
    const stopme = labelsOf('stopme', 'stopme');
    assert.equal((await samples(c)).get(`watchpost_container_running{${stopme}}`), 1);
    const before = { ...c.source.calls };
    const all = docker('ps', '-aq', '--filter', `label=${PROJECT_LABEL}=${project}`).split('\n').length;

    // Steady state: a run without events makes no list call and inspects (almost) nothing.
    await run(c);
    docker('stop', '-t', '1', names.stopme!);
    const startedAt = Date.now();
    await until(
      c,
      'the stopped container',
      (s) => s.get(`watchpost_container_running{${stopme}}`) === 0,
      10_000,
    );
    const s = await samples(c);
    assert.ok(Date.now() - startedAt < 5_000, `took ${Date.now() - startedAt} ms`);
    assert.equal(s.get(`watchpost_container_state{${stopme},state="exited"}`), 1);
    assert.equal(s.get(`watchpost_container_exit_code{${stopme}}`), 137);
    assert.ok(s.get('watchpost_container_events_total{action="die"}')! >= 1);
    assert.ok(s.get('watchpost_container_events_total{action="stop"}')! >= 1);
    const actions = [...s.keys()].filter((k) => k.startsWith('watchpost_container_events_total{'));
    assert.ok(
      actions.every((k) => /action="[a-z_-]+"/.test(k)),
      actions.join(' '),
    );
    assert.equal(c.source.calls.list, before.list, 'no full resync');
    const inspected = c.source.calls.inspect - before.inspect;
    // Only stopme and the restart loop have state events meanwhile, never all containers.
    assert.ok(inspected <= 6, `inspected ${inspected} times (of ${all} containers)`);
    assert.equal(c.source.calls.events, before.events, 'the events stream stayed open');
  });

  it('counts OOM kills of a container with a restart policy, though Docker clears OOMKilled on restart', async (t) => {
    if (!skipUnless(t)) return;
    const c = collectorWith({ resync_interval: 3_600_000, stats: 'none' });
    collectors.push(c);
    // The events stream must be open before the first OOM kill.
    await eventually(
      async () => {
        await run(c);
        return c.source.calls.events >= 1 && (await samples(c)).get('watchpost_docker_up') === 1
          ? true
          : undefined;
      },
      15_000,
      'events stream open',
    );
    await new Promise((r) => setTimeout(r, 500));
    names.oomloop = tc.run(
      'oomloop',
      ['--restart', 'on-failure:50', '--memory', '8m', '--memory-swap', '8m'],
      ['sh', '-c', 'sleep 1; x=a; while true; do x=$x$x; done'],
    );
    const oomloop = labelsOf('oomloop');
    const s = await until(
      c,
      'two OOM kills counted',
      (s) => (s.get(`watchpost_container_oom_events_total{${oomloop}}`) ?? 0) >= 2,
      60_000,
    );
    assert.ok(s.get(`watchpost_container_restarts_total{${oomloop}}`)! >= 1, 'it was restarted');
    // Every container has the counter from the start, so increase() sees a first OOM kill.
    assert.equal(s.get(`watchpost_container_oom_events_total{${labelsOf('healthy', 'web')}}`), 0);
  });

  it('re-renders /metrics on a Docker event, long before the next interval', async (t) => {
    if (!skipUnless(t)) return;
    const config = defaultConfig();
    const settings = {
      ...config.collectors.containers,
      // Ten minutes: a change seen within this test can only have come from an event.
      interval: 600_000,
      resync_interval: 3_600_000,
      stats: 'none' as const,
    };
    const c = new ContainersCollector({
      config: { ...config, collectors: { ...config.collectors, containers: settings } },
      log: silentLogger,
    });
    collectors.push(c);
    const exposition = new Exposition();
    const scheduler = new Scheduler([{ collector: c, settings }], { log: silentLogger, exposition });
    scheduler.start();
    try {
      names.killme = tc.run('killme', [], ['sleep', '3600']);
      const killme = labelsOf('killme');
      const text = () => exposition.plain().toString();
      await eventually(
        () => (text().includes(`watchpost_container_running{${killme}} 1`) ? true : undefined),
        30_000,
        'the started container in /metrics',
      );
      const runsBefore = scheduler.statuses()[0]!.runs;
      docker('kill', names.killme);
      await eventually(
        () => (text().includes(`watchpost_container_running{${killme}} 0`) ? true : undefined),
        30_000,
        'the killed container in /metrics',
      );
      assert.match(
        text(),
        new RegExp(
          `^watchpost_container_exit_code\\{${killme.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\} 137$`,
          'm',
        ),
      );
      const status = scheduler.statuses()[0]!;
      assert.ok(status.runs > runsBefore, 'an extra run');
      assert.ok(status.runs < 20, `runs coalesced: ${status.runs}`);
    } finally {
      await scheduler.stop();
    }
  });

  it('sees only the containers that carry label_filter, in the list and through events', async (t) => {
    if (!skipUnless(t)) return;
    const c = collectorWith({
      resync_interval: 3_600_000,
      stats: 'none',
      label_filter: [`${PROJECT_LABEL}=${project}`],
      expected: [{ name: names.exit3! }],
    });
    collectors.push(c);
    const s = await until(
      c,
      'the containers of the project',
      (s) => s.get(`watchpost_container_running{${labelsOf('healthy', 'web')}}`) === 1,
    );
    const seen = new Set(
      [...s.keys()]
        .filter((k) => k.startsWith('watchpost_container_running{'))
        .map((k) => /name="([^"]+)"/.exec(k)?.[1]),
    );
    assert.deepEqual([...seen].sort(), [names.healthy, names.stopme, names.unhealthy].sort());
    // An expected container outside the filter is never seen: it counts as not running.
    assert.equal(
      s.get(
        `watchpost_container_expected_running{name="${names.exit3}",compose_project="",compose_service=""}`,
      ),
      0,
    );
    // Events of other containers do not reach it: one outside the filter starts and dies unseen,
    // one inside it appears without a resync.
    // The events stream is open, and the resync that follows its connection is done.
    await eventually(
      async () => {
        const before = c.source.calls.list;
        await run(c);
        return c.source.calls.events >= 1 && c.source.calls.list === before ? true : undefined;
      },
      15_000,
      'events stream open',
    );
    const lists = c.source.calls.list;
    const events = (await samples(c)).get('watchpost_container_events_total{action="start"}') ?? 0;
    names.outside = tc.run('outside', [], ['sh', '-c', 'exit 5']);
    names.inside = tc.run(
      'inside',
      ['--label', `${PROJECT_LABEL}=${project}`, '--label', `${SERVICE_LABEL}=inside`],
      ['sh', '-c', 'exit 6'],
    );
    const after = await until(
      c,
      'the new container of the project',
      (s) => s.get(`watchpost_container_exit_code{${labelsOf('inside', 'inside')}}`) === 6,
    );
    assert.equal(c.source.calls.list, lists, 'seen through events, not a resync');
    // Docker filtered the events: the start of the container outside was never received.
    assert.equal(after.get('watchpost_container_events_total{action="start"}'), events + 1);
    assert.ok(
      ![...after.keys()].some((k) => k.includes(names.outside!)),
      'a container outside the filter has no series',
    );
  });

  it('reads CPU and memory from the stats API in the background with stats: api', async (t) => {
    if (!skipUnless(t)) return;
    const c = collectorWith({ stats: 'api', interval: 1000 });
    collectors.push(c);
    const healthy = labelsOf('healthy', 'web');
    const s = await until(c, 'stats from the API', (s) =>
      s.has(`watchpost_container_memory_usage_bytes{${healthy}}`),
    );
    assert.equal(s.get(`watchpost_container_memory_limit_bytes{${healthy}}`), 64 * 1024 * 1024);
    assert.ok(s.get(`watchpost_container_cpu_seconds_total{${healthy}}`)! > 0);
    assert.ok(c.source.calls.stats >= 1);
  });
});

function spawnDockerInfo(): number {
  try {
    docker('info', '--format', '{{.ServerVersion}}');
    docker('image', 'inspect', 'local/busybox:1');
    return 0;
  } catch {
    return 1;
  }
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('containers collector without a daemon', () => {
  const expected = [{ name: 'web' }];
  const downSamples = async (c: ContainersCollector) => {
    const s = await samples(c);
    assert.equal(s.get('watchpost_docker_up'), 0);
    assert.equal(s.get('watchpost_container_expected{name="web",compose_project="",compose_service=""}'), 1);
    assert.equal(
      s.get('watchpost_container_expected_running{name="web",compose_project="",compose_service=""}'),
      0,
      'what is expected stays visible, as not running',
    );
    return s;
  };

  it('reports a missing socket as Docker down (reason no_socket) and keeps the expected containers', async () => {
    const c = collectorWith({ endpoint: 'unix:///nonexistent.sock', expected });
    try {
      await run(c);
      const s = await downSamples(c);
      assert.equal(s.get('watchpost_docker_down_reason{reason="no_socket"}'), 1);
      assert.equal(s.get('watchpost_docker_down_reason{reason="refused"}'), 0);
      assert.match(
        c.notes().join('\n'),
        /^Docker unreachable: Docker API at unix:\/\/\/nonexistent\.sock: connect ENOENT/,
      );
      // And again (the events stream keeps retrying in the background, no crash).
      await run(c);
      await downSamples(c);
    } finally {
      c.close();
    }
  });

  it('reports a TCP endpoint with nothing listening as Docker down (reason refused)', async () => {
    const port = await closedPort();
    const c = collectorWith({ endpoint: `tcp://127.0.0.1:${port}`, expected });
    try {
      await run(c);
      const s = await downSamples(c);
      assert.equal(s.get('watchpost_docker_down_reason{reason="refused"}'), 1);
    } finally {
      c.close();
    }
  });

  it('reports a socket that stops answering as Docker down (reason timeout) within the collector timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-hung-docker-'));
    const path = join(dir, 'docker.sock');
    const sockets = new Set<Socket>();
    // Accepts connections and reads requests, never answers: a wedged daemon.
    const srv = createServer((sock) => {
      sockets.add(sock);
      sock.resume();
    });
    await new Promise<void>((r) => srv.listen(path, r));
    const c = collectorWith({ endpoint: `unix://${path}`, expected, timeout: 1500 });
    try {
      // The run resolves on its own (no abort from outside): the collector's deadline fired.
      await run(c, new AbortController().signal);
      const s = await downSamples(c);
      assert.equal(s.get('watchpost_docker_down_reason{reason="timeout"}'), 1);
    } finally {
      c.close();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The error DockerSource rejects with when the daemon refuses connections (errno in the cause). */
function refused(): Error {
  const cause = Object.assign(new Error('connect ECONNREFUSED /fake.sock'), { code: 'ECONNREFUSED' });
  return new Error('Docker API at unix:///fake.sock: connect ECONNREFUSED /fake.sock', { cause });
}

/** A stand-in for DockerSource whose containers, events stream and failures the test controls. */
class FakeSource {
  readonly calls = { list: 0, inspect: 0, stats: 0, events: 0 };
  readonly endpoint = 'unix:///fake.sock';
  containers = new Map<string, ContainerInfo>();
  streams: PassThrough[] = [];
  down = false;

  listIds(): Promise<string[]> {
    this.calls.list++;
    if (this.down) return Promise.reject(refused());
    return Promise.resolve([...this.containers.keys()]);
  }
  inspect(id: string): Promise<ContainerInfo | undefined> {
    this.calls.inspect++;
    if (this.down) return Promise.reject(refused());
    const c = this.containers.get(id);
    return Promise.resolve(c && { ...c });
  }
  stats(): Promise<undefined> {
    this.calls.stats++;
    return Promise.resolve(undefined);
  }
  events(): Promise<PassThrough> {
    this.calls.events++;
    if (this.down) return Promise.reject(refused());
    const s = new PassThrough();
    this.streams.push(s);
    return Promise.resolve(s);
  }
  emit(id: string, action: string): void {
    this.streams
      .at(-1)!
      .write(`${JSON.stringify({ Type: 'container', Action: action, Actor: { ID: id } })}\n`);
  }
}

function fakeContainer(id: string, name: string, state: ContainerInfo['state']): ContainerInfo {
  return {
    id,
    name,
    image: 'app:1',
    composeProject: 'p',
    composeService: name,
    state,
    health: 'none',
    exitCode: 0,
    oomKilled: false,
    restartCount: 0,
    startedAt: 1_700_000_000,
  };
}

describe('containers collector state keeping (fake Docker API)', () => {
  const tick = () => new Promise((r) => setTimeout(r, 20));

  it('says once that the events stream was lost, not at each attempt to get it back', async (t) => {
    const fake = new FakeSource();
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const c = new ContainersCollector(
      { config: defaultConfig(), log },
      { source: fake as unknown as DockerSource },
    );
    t.after(() => c.close());
    await run(c);
    await eventually(() => (fake.streams.length === 1 ? true : undefined), 5000, 'connected');
    fake.down = true;
    fake.streams[0]!.destroy(); // dockerd goes away: the stream ends, reconnects fail
    // Attempts after 0.5, 1 and 2 s (the backoff): three failed reconnects.
    await eventually(() => (fake.calls.events >= 4 ? true : undefined), 15_000, 'reconnect attempts');
    const said = (msg: string, level: string) =>
      lines.filter((l) => l.includes(`level=${level}`) && l.includes(msg)).length;
    assert.equal(said('Docker events stream lost', 'warn'), 1, lines.join(''));
    assert.ok(said('reconnect failed', 'debug') >= 3, lines.join(''));
    // Back: connected is said again, and a later loss is a warning again.
    fake.down = false;
    await eventually(() => (fake.streams.length === 2 ? true : undefined), 15_000, 'reconnected');
    assert.equal(said('Docker events stream connected', 'info'), 2);
    fake.streams[1]!.destroy();
    await eventually(
      () => (said('Docker events stream lost', 'warn') === 2 ? true : undefined),
      5000,
      'lost again',
    );
  });

  it('updates from events only, drops removed and renamed series, resyncs after the stream drops', async () => {
    const fake = new FakeSource();
    fake.containers.set('a', fakeContainer('a', 'web', 'running'));
    fake.containers.set('b', fakeContainer('b', 'db', 'running'));
    const config = defaultConfig();
    const c = new ContainersCollector(
      {
        config: {
          ...config,
          collectors: {
            ...config.collectors,
            containers: {
              ...config.collectors.containers,
              stats: 'none',
              resync_interval: 3_600_000,
              expected: [{ name: 'db2' }],
            },
          },
        },
        log: silentLogger,
      },
      { source: fake as unknown as DockerSource },
    );
    try {
      await run(c);
      await tick();
      await run(c); // the stream connected after the first run: one more resync
      assert.deepEqual(fake.calls, { list: 2, inspect: 4, stats: 0, events: 1 });
      await run(c);
      assert.deepEqual(fake.calls, { list: 2, inspect: 4, stats: 0, events: 1 }, 'steady state: no API call');

      const web = 'name="web",image="app:1",compose_project="p",compose_service="web"';
      // A stop: one inspect.
      fake.containers.set('a', { ...fakeContainer('a', 'web', 'exited'), exitCode: 137 });
      fake.emit('a', 'die');
      fake.emit('a', 'exec_die'); // not a state change: no inspect
      await tick();
      await run(c);
      let s = await samples(c);
      assert.equal(s.get(`watchpost_container_running{${web}}`), 0);
      assert.equal(s.get(`watchpost_container_exit_code{${web}}`), 137);
      assert.equal(fake.calls.inspect, 5);

      // A rename: the old series go, the new ones come.
      fake.containers.set('b', fakeContainer('b', 'db2', 'running'));
      fake.emit('b', 'rename');
      // A removal: no inspect, its series go.
      fake.containers.delete('a');
      fake.emit('a', 'destroy');
      await tick();
      await run(c);
      s = await samples(c);
      assert.equal(fake.calls.inspect, 6);
      const names = new Set([...s.keys()].map((k) => /name="([^"]*)"/.exec(k)?.[1]).filter(Boolean));
      assert.deepEqual([...names], ['db2']);
      assert.equal(s.get('watchpost_container_events_total{action="exec_die"}'), 1);
      assert.equal(s.get('watchpost_container_events_total{action="destroy"}'), 1);

      const db2 = 'name="db2",compose_project="",compose_service=""';
      assert.equal(s.get(`watchpost_container_expected_running{${db2}}`), 1);
      assert.equal(s.get('watchpost_docker_up'), 1);

      // The daemon goes away: the stream ends, runs report Docker down until it is back,
      // then a full resync. Nothing is served as current meanwhile, except what is expected.
      fake.down = true;
      fake.streams.at(-1)!.end();
      await tick();
      await run(c);
      s = await samples(c);
      assert.equal(s.get('watchpost_docker_up'), 0);
      assert.equal(s.get('watchpost_docker_down_reason{reason="refused"}'), 1);
      assert.equal(s.get(`watchpost_container_expected{${db2}}`), 1);
      assert.equal(s.get(`watchpost_container_expected_running{${db2}}`), 0);
      assert.deepEqual(
        [...s.keys()].filter((k) => /^watchpost_container_(running|state|exit_code)\{/.test(k)),
        [],
        'no container series while Docker cannot be seen',
      );
      fake.down = false;
      const lists = fake.calls.list;
      await eventually(async () => {
        await run(c);
        return fake.calls.events >= 2 ? true : undefined;
      }, 5_000);
      await tick();
      await run(c);
      assert.ok(fake.calls.list > lists, 'resynced after the reconnect');
      const after = { ...fake.calls };
      await run(c);
      assert.deepEqual(fake.calls, after, 'steady state again');
      s = await samples(c);
      assert.equal(s.get('watchpost_docker_up'), 1);
      assert.equal(s.get('watchpost_docker_down_reason{reason="refused"}'), undefined);
      assert.equal(s.get(`watchpost_container_expected_running{${db2}}`), 1);
      assert.equal(
        s.get(
          'watchpost_container_running{name="db2",image="app:1",compose_project="p",compose_service="db2"}',
        ),
        1,
      );
    } finally {
      c.close();
    }
  });
});
