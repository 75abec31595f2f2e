import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeMediamtx } from '../../test/e2e/fake-mediamtx.js';
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

  it('says "authentication failed" on a 401, without the password', async () => {
    await assert.rejects(
      fetchMediamtxPaths(fake.url, { signal: signal(), authorization: basic('watchpost', 'wrong') }),
      (err: Error) => {
        assert.match(err.message, /^authentication failed \(HTTP 401\)/);
        assert.doesNotMatch(err.message, /wrong|s3cret/);
        return true;
      },
    );
    await assert.rejects(fetchMediamtxPaths(fake.url, { signal: signal() }), /authentication failed/);
  });

  it('rejects on an unreachable server', async () => {
    const gone = new FakeMediamtx();
    await gone.start();
    const url = gone.url;
    await gone.stop();
    await assert.rejects(fetchMediamtxPaths(url, { signal: signal() }), /fetch failed/);
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
