import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  backoffDelay,
  containerFromInspect,
  dockerOptions,
  EventLineSplitter,
  EventWatcher,
  parseDockerTime,
  parseEvent,
  statsFromApi,
  type DockerEvent,
} from './docker.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const json = (name: string): unknown => JSON.parse(readFileSync(`${FIXTURES}${name}`, 'utf8'));
const ID = '1a537015fd860dc3ee3bd34eaccbd3703ed9657d19d57b02994ac968e99a1188';

describe('docker parsers', () => {
  it('maps endpoints to connection options', () => {
    assert.deepEqual(dockerOptions('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
    assert.deepEqual(dockerOptions('tcp://proxy:2375'), { host: 'proxy', port: 2375, protocol: 'http' });
    assert.deepEqual(dockerOptions('https://10.0.0.1:2376/'), {
      host: '10.0.0.1',
      port: 2376,
      protocol: 'https',
    });
  });

  it('parses nanosecond timestamps and the zero time', () => {
    assert.equal(
      parseDockerTime('2026-11-22T04:58:49.117991471Z'),
      Date.parse('2026-11-22T04:58:49Z') / 1000 + 0.117991471,
    );
    assert.equal(parseDockerTime('0001-01-01T00:00:00Z'), undefined);
    assert.equal(parseDockerTime(''), undefined);
  });

  it('reads a running container with a healthcheck and compose labels', () => {
    assert.deepEqual(containerFromInspect(json('docker-inspect-healthy.json')), {
      id: ID,
      name: 'wp-fixture',
      image: 'local/busybox:1',
      composeProject: 'shop',
      composeService: 'web',
      state: 'running',
      health: 'healthy',
      exitCode: 0,
      oomKilled: false,
      restartCount: 0,
      startedAt: parseDockerTime('2026-11-22T04:58:49.117991471Z'),
    });
  });

  it('reads an exited container without healthcheck or labels', () => {
    const c = containerFromInspect(json('docker-inspect-exited.json'));
    assert.equal(c.name, 'wp-fixture-exit');
    assert.equal(c.state, 'exited');
    assert.equal(c.health, 'none');
    assert.equal(c.exitCode, 3);
    assert.equal(c.composeProject, '');
    assert.equal(c.composeService, '');
    assert.throws(() => containerFromInspect({}), /no Id/);
  });

  it('reads CPU and memory from the stats API', () => {
    assert.deepEqual(statsFromApi(json('docker-stats.json')), {
      cpuSeconds: 0.055144372,
      memoryUsageBytes: 1937408,
      memoryLimitBytes: 67108864,
    });
    assert.deepEqual(statsFromApi({}), {});
  });

  it('parses container events, dropping the detail of the action', () => {
    const lines = readFileSync(`${FIXTURES}docker-events.jsonl`, 'utf8').trim().split('\n');
    const events = lines.map(parseEvent);
    assert.deepEqual(events[0], { id: ID, action: 'create', rawAction: 'create' });
    const health = events.find((e) => e?.action === 'health_status');
    assert.equal(health?.rawAction, 'health_status: healthy');
    assert.ok(events.some((e) => e?.action === 'exec_create'));
    assert.equal(parseEvent('{"Type":"network","Action":"connect","Actor":{"ID":"x"}}'), undefined);
    assert.equal(parseEvent('not json'), undefined);
  });

  it('splits the stream into lines whatever the chunking', () => {
    const text = readFileSync(`${FIXTURES}docker-events.jsonl`, 'utf8');
    const whole = new EventLineSplitter().push(text);
    for (const size of [1, 7, 100, 1000]) {
      const s = new EventLineSplitter();
      const got: DockerEvent[] = [];
      for (let i = 0; i < text.length; i += size) got.push(...s.push(Buffer.from(text.slice(i, i + size))));
      assert.deepEqual(got, whole, `chunks of ${size}`);
    }
    assert.equal(whole.length, text.trim().split('\n').length);
  });

  it('backs off exponentially up to 30 s', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 100].map((a) => backoffDelay(a)),
      [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
    );
  });
});

describe('EventWatcher', () => {
  it('delivers events, reconnects after the stream ends, and stops on close', async () => {
    const streams: PassThrough[] = [];
    let fail = false;
    const source = {
      events: () => {
        if (fail) return Promise.reject(new Error('connect ECONNREFUSED'));
        const s = new PassThrough();
        streams.push(s);
        return Promise.resolve(s);
      },
    };
    const got: string[] = [];
    let connects = 0;
    let disconnects = 0;
    const w = new EventWatcher(
      source as never,
      {
        onEvent: (ev) => got.push(ev.action),
        onConnect: () => connects++,
        onDisconnect: () => disconnects++,
      },
      50,
    );
    w.start();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(w.state, 'connected');
    streams[0]!.write('{"Type":"container","Action":"start","Actor":{"ID":"a"}}\n{"Type":"container",');
    streams[0]!.write('"Action":"die","Actor":{"ID":"a"}}\n');
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ['start', 'die']);
    fail = true;
    streams[0]!.end();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(w.state, 'down');
    assert.equal(disconnects, 1);
    fail = false;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(w.state, 'connected');
    assert.equal(connects, 2);
    w.close();
    assert.equal(w.state, 'closed');
    assert.ok(streams.at(-1)!.destroyed);
  });
});
