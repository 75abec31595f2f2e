import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { FakeMediamtx } from '../../internal/testing/fake-mediamtx.js';
import { fetchMediamtxPaths, parsePathList } from './mediamtx.js';

const NOW = Date.parse('2026-01-01T00:01:00Z');
const signal = () => AbortSignal.timeout(5_000);
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('parsePathList', () => {
  it('reads a v1.17 page (online, inboundBytes, inboundFramesInError)', () => {
    const body = JSON.stringify({
      itemCount: 2,
      pageCount: 1,
      items: [
        {
          name: 'cam1',
          confName: 'all_others',
          source: { type: 'rtspSession', id: 'a' },
          ready: true,
          readyTime: '2026-01-01T00:00:00Z',
          available: true,
          availableTime: '2026-01-01T00:00:00Z',
          online: true,
          onlineTime: '2026-01-01T00:00:30Z',
          tracks: ['H264'],
          readers: [
            { type: 'rtspSession', id: 'b' },
            { type: 'hlsSession', id: 'c' },
          ],
          inboundBytes: 1000,
          outboundBytes: 2000,
          inboundFramesInError: 7,
          bytesReceived: 1000,
          bytesSent: 2000,
        },
        {
          name: 'cam2',
          confName: 'cam2',
          source: null,
          ready: false,
          readyTime: null,
          online: false,
          onlineTime: null,
          tracks: [],
          readers: [],
          inboundBytes: 0,
          outboundBytes: 0,
          inboundFramesInError: 0,
        },
      ],
    });
    assert.deepEqual(parsePathList(body, NOW), {
      pageCount: 1,
      streams: [
        {
          app: '',
          stream: 'cam1',
          publishing: true,
          readers: 2,
          bytesIn: 1000,
          bytesOut: 2000,
          uptimeSeconds: 30,
          framesInError: 7,
        },
        {
          app: '',
          stream: 'cam2',
          publishing: false,
          readers: 0,
          bytesIn: 0,
          bytesOut: 0,
          uptimeSeconds: undefined,
          framesInError: 0,
        },
      ],
    });
  });

  it('reads an older page (ready, readyTime, bytesReceived, bytesSent only)', () => {
    const body = JSON.stringify({
      itemCount: 1,
      pageCount: 1,
      items: [
        {
          name: 'door',
          confName: 'door',
          source: { type: 'rtmpConn', id: 'x' },
          ready: true,
          readyTime: '2026-01-01T00:00:00Z',
          tracks: ['H264'],
          readers: [],
          bytesReceived: 5,
          bytesSent: 6,
        },
      ],
    });
    assert.deepEqual(parsePathList(body, NOW).streams, [
      {
        app: '',
        stream: 'door',
        publishing: true,
        readers: 0,
        bytesIn: 5,
        bytesOut: 6,
        uptimeSeconds: 60,
        framesInError: undefined,
      },
    ]);
  });

  it('a pulled source that is down: online but not available, zero onlineTime, is not publishing', () => {
    const body = JSON.stringify({
      itemCount: 3,
      pageCount: 1,
      items: [
        {
          name: 'gate',
          confName: 'gate',
          source: { type: 'rtspSource', id: '' },
          ready: false,
          readyTime: null,
          available: false,
          availableTime: null,
          online: true,
          onlineTime: '0001-01-01T00:00:00Z',
          tracks: [],
          readers: [],
          inboundBytes: 0,
          outboundBytes: 0,
          inboundFramesInError: 0,
        },
        {
          // alwaysAvailable with no publisher: an offline placeholder stream, no source.
          name: 'placeholder',
          confName: 'placeholder',
          source: null,
          ready: true,
          readyTime: '2026-01-01T00:00:00Z',
          available: true,
          availableTime: '2026-01-01T00:00:00Z',
          online: false,
          onlineTime: null,
          readers: [{ type: 'hidden', id: '' }],
        },
        {
          name: 'lobby',
          confName: 'lobby',
          source: { type: 'rtspSource', id: '' },
          ready: true,
          readyTime: '2026-01-01T00:00:00Z',
          available: true,
          availableTime: '2026-01-01T00:00:00Z',
          online: true,
          onlineTime: '2026-01-01T00:00:00Z',
          readers: [
            { type: 'hidden', id: '' },
            { type: 'keepalive', id: 'k' },
            { type: 'webRTCSession', id: 'w' },
          ],
        },
      ],
    });
    const [gate, placeholder, lobby] = parsePathList(body, NOW).streams;
    assert.equal(gate!.publishing, false);
    assert.equal(gate!.uptimeSeconds, undefined, 'no uptime of 63 billion seconds from the zero time');
    assert.equal(placeholder!.publishing, false);
    assert.equal(placeholder!.readers, 0);
    assert.equal(lobby!.publishing, true);
    assert.equal(lobby!.uptimeSeconds, 60);
    assert.equal(lobby!.readers, 1, 'hidden and keepalive readers are MediaMTX itself');
  });

  it('rejects what is not a path list', () => {
    assert.throws(() => parsePathList('<html>'), /not JSON/);
    assert.throws(() => parsePathList('{"items": []}'), /not a MediaMTX path list: pageCount/);
    assert.throws(() => parsePathList('{"pageCount": 1, "items": [{"ready": true}]}'), /items\.0\.name/);
  });
});

describe('fetchMediamtxPaths against the fake MediaMTX API', () => {
  const fake = new FakeMediamtx({ user: 'watchpost', pass: 's3cret-pass' });
  before(() => fake.start());
  after(() => fake.stop());

  it('follows pageCount across pages', async () => {
    fake.paths = Array.from({ length: 7 }, (_, i) => ({ name: `cam${i}`, ready: i % 2 === 0, readers: i }));
    fake.requests.length = 0;
    const stat = await fetchMediamtxPaths(fake.url, {
      signal: signal(),
      authorization: basic('watchpost', 's3cret-pass'),
      itemsPerPage: 3,
    });
    assert.deepEqual(
      stat.streams.map((s) => [s.stream, s.publishing, s.readers]),
      fake.paths.map((p, i) => [p.name, i % 2 === 0, i]),
    );
    assert.deepEqual(fake.requests, [
      '/v3/paths/list?page=0&itemsPerPage=3',
      '/v3/paths/list?page=1&itemsPerPage=3',
      '/v3/paths/list?page=2&itemsPerPage=3',
    ]);
  });

  it('asks for one page when there are no paths (pageCount 0)', async () => {
    fake.paths = [];
    fake.requests.length = 0;
    const stat = await fetchMediamtxPaths(fake.url, {
      signal: signal(),
      authorization: basic('watchpost', 's3cret-pass'),
    });
    assert.deepEqual(stat.streams, []);
    assert.equal(fake.requests.length, 1);
  });

  it('says "authentication failed" on a 401, without the password (after MediaMTX\'s 2 s pause)', async () => {
    const started = performance.now();
    await assert.rejects(
      fetchMediamtxPaths(fake.url, { signal: signal(), authorization: basic('watchpost', 'wrong') }),
      (err: Error) => {
        assert.match(err.message, /^authentication failed \(HTTP 401\)/);
        assert.doesNotMatch(err.message, /wrong|s3cret/);
        return true;
      },
    );
    // Wrong credentials are answered only after auth.PauseAfterError: a timeout below 2 s would hide the reason.
    assert.ok(performance.now() - started >= 1900);
    await assert.rejects(fetchMediamtxPaths(fake.url, { signal: signal() }), /authentication failed/);
  });

  it('reads pulled sources from the fake as MediaMTX describes them', async () => {
    fake.paths = [
      { name: 'gate', ready: false, pullSource: 'rtsp://192.0.2.50/stream' },
      { name: 'lobby', ready: true, pullSource: 'rtsp://192.0.2.51/stream', readers: 2, hiddenReaders: 3 },
    ];
    const stat = await fetchMediamtxPaths(fake.url, {
      signal: signal(),
      authorization: basic('watchpost', 's3cret-pass'),
    });
    const byName = new Map(stat.streams.map((x) => [x.stream, x]));
    assert.equal(byName.get('gate')!.publishing, false);
    assert.equal(byName.get('gate')!.uptimeSeconds, undefined);
    assert.equal(byName.get('lobby')!.publishing, true);
    assert.equal(byName.get('lobby')!.readers, 2);
  });

  it('rejects on an unreachable server', async () => {
    const gone = new FakeMediamtx();
    await gone.start();
    const url = gone.url;
    await gone.stop();
    await assert.rejects(fetchMediamtxPaths(url, { signal: signal() }), /ECONNREFUSED/);
  });

  it('reports a 404 (a base URL that is not the API)', async () => {
    await assert.rejects(
      fetchMediamtxPaths(`${fake.url}/nope`, {
        signal: signal(),
        authorization: basic('watchpost', 's3cret-pass'),
      }),
      /HTTP 404/,
    );
  });
});
