import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../../config/load.js';
import { createLogger, silentLogger } from '../../../internal/log.js';
import { FakeMediamtx } from '../../../internal/testing/fake-mediamtx.js';
import type { StreamStat } from '../../sources/stream-stat.js';
import { capStreams, StreamsCollector } from './streams.js';
import { collectSamples } from '../../../test/samples.js';

const FIXTURES = fileURLToPath(new URL('../../sources/fixtures/', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A config from YAML, with the password file written into a temp folder. */
function config(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-streams-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'mtx-pass'), 's3cret-pass\n');
  return parseConfigText(yaml, 'watchpost.yml', {}, dir);
}

async function run(c: StreamsCollector): Promise<Map<string, number>> {
  return collectSamples(c);
}

/** An HTTP server that answers every request with `body` (or never, when body is undefined). */
async function serve(body: string | undefined, status = 200): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    if (body === undefined) return; // hangs
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stat`, server };
}

describe('StreamsCollector', () => {
  const mtx = new FakeMediamtx({ user: 'watchpost', pass: 's3cret-pass' });
  const servers: Server[] = [];
  let rtmpUrl = '';
  let garbageUrl = '';
  let hungUrl = '';
  before(async () => {
    await mtx.start();
    const rtmp = await serve(readFileSync(join(FIXTURES, 'rtmp-stat-two-streams.xml'), 'utf8'));
    const garbage = await serve('<html><body>not the stat page</body></html>');
    const hung = await serve(undefined);
    servers.push(rtmp.server, garbage.server, hung.server);
    rtmpUrl = rtmp.url;
    garbageUrl = garbage.url;
    hungUrl = hung.url;
  });
  after(async () => {
    await mtx.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('exports both kinds in one family set, expected streams, and a bad server as down', async () => {
    mtx.paths = [
      { name: 'door', ready: true, readers: 2, bytesIn: 1000, bytesOut: 4000, framesInError: 3 },
      { name: 'yard', ready: false },
    ];
    const logged: string[] = [];
    const c = new StreamsCollector({
      config: config(`
collectors:
  streams:
    servers:
      - { name: rtmp1, kind: nginx-rtmp, url: "${rtmpUrl}", max_streams: 10 }
      - { name: mtx, kind: mediamtx, url: "${mtx.url}", username: watchpost, password_file: mtx-pass }
      - { name: broken, kind: nginx-rtmp, url: "${garbageUrl}" }
    expected:
      - { server: rtmp1, app: live, stream: cam1 }
      - { server: rtmp1, app: live, stream: cam3 }
      - { server: mtx, stream: door }
`),
      log: createLogger({ write: (line) => logged.push(line) }),
    });
    const s = await run(c);
    assert.equal(s.get('watchpost_stream_server_up{server="rtmp1",kind="nginx-rtmp"}'), 1);
    assert.equal(s.get('watchpost_stream_server_up{server="mtx",kind="mediamtx"}'), 1);
    assert.equal(s.get('watchpost_stream_server_up{server="broken",kind="nginx-rtmp"}'), 0);
    assert.ok(s.has('watchpost_stream_server_fetch_duration_seconds{server="broken"}'));
    assert.equal(s.get('watchpost_stream_server_uptime_seconds{server="rtmp1"}'), 5);
    assert.equal(s.has('watchpost_stream_server_uptime_seconds{server="mtx"}'), false);
    assert.equal(s.get('watchpost_stream_max_publishing{server="rtmp1"}'), 10);
    assert.equal(s.has('watchpost_stream_max_publishing{server="mtx"}'), false);

    assert.equal(s.get('watchpost_stream_publishing{server="rtmp1",app="live",stream="cam1"}'), 1);
    assert.equal(s.get('watchpost_stream_readers{server="rtmp1",app="live",stream="cam1"}'), 1);
    assert.equal(s.get('watchpost_stream_bytes_in_total{server="rtmp1",app="live",stream="cam1"}'), 119259);
    assert.equal(s.get('watchpost_stream_bytes_out_total{server="rtmp1",app="live",stream="cam1"}'), 70553);
    assert.equal(s.get('watchpost_stream_uptime_seconds{server="rtmp1",app="live",stream="cam1"}'), 5.079);
    assert.equal(s.get('watchpost_stream_app_publishing_streams{server="rtmp1",app="live"}'), 2);
    assert.equal(
      s.get('watchpost_streams_publishing{server="rtmp1",app="live"}'),
      2,
      'the 0.1 name, for one release',
    );
    assert.equal(s.get('watchpost_stream_series_dropped{server="rtmp1"}'), 0);

    assert.equal(s.get('watchpost_stream_publishing{server="mtx",app="",stream="door"}'), 1);
    assert.equal(s.get('watchpost_stream_publishing{server="mtx",app="",stream="yard"}'), 0);
    assert.equal(s.get('watchpost_stream_readers{server="mtx",app="",stream="door"}'), 2);
    assert.equal(s.get('watchpost_stream_bytes_in_total{server="mtx",app="",stream="door"}'), 1000);
    assert.equal(s.get('watchpost_stream_bytes_out_total{server="mtx",app="",stream="door"}'), 4000);
    assert.equal(s.get('watchpost_stream_frames_in_error_total{server="mtx",app="",stream="door"}'), 3);
    assert.equal(s.get('watchpost_stream_app_publishing_streams{server="mtx",app=""}'), 1);

    // Expected streams are exported whether or not they publish; cam3 never did.
    assert.equal(s.get('watchpost_stream_expected{server="rtmp1",app="live",stream="cam1"}'), 1);
    assert.equal(s.get('watchpost_stream_expected{server="rtmp1",app="live",stream="cam3"}'), 1);
    assert.equal(s.get('watchpost_stream_expected{server="mtx",app="",stream="door"}'), 1);
    assert.equal(s.has('watchpost_stream_publishing{server="rtmp1",app="live",stream="cam3"}'), false);
    // Nothing from the broken server but its up, the reason and the duration.
    assert.deepEqual([...s.keys()].filter((k) => k.includes('server="broken"')).sort(), [
      'watchpost_stream_server_failure_reason{server="broken",reason="invalid"}',
      'watchpost_stream_server_fetch_duration_seconds{server="broken"}',
      'watchpost_stream_server_up{server="broken",kind="nginx-rtmp"}',
    ]);
    const warn = logged.find((l) => l.includes('cannot read stream server statistics'));
    assert.ok(warn, logged.join('\n'));
    assert.match(warn, /no <rtmp> root element/);
    assert.ok(!logged.join('\n').includes('s3cret-pass'), 'the password leaked into a log line');

    // A lasting failure is logged once.
    await run(c);
    assert.equal(logged.filter((l) => l.includes('cannot read stream server statistics')).length, 1);
  });

  it('reports a MediaMTX camera pulled from a source that is down as not publishing, with no uptime', async () => {
    mtx.paths = [
      // A pull source whose camera does not answer: online (attached), not available.
      { name: 'gate', ready: false, pullSource: 'rtsp://192.0.2.50:554/stream1' },
      // A pull source that delivers, read by one client and MediaMTX's own HLS muxer.
      {
        name: 'lobby',
        ready: true,
        pullSource: 'rtsp://192.0.2.51:554/stream1',
        readers: 1,
        hiddenReaders: 1,
      },
    ];
    const c = new StreamsCollector({
      config: config(`
collectors:
  streams:
    servers:
      - { name: mtx, kind: mediamtx, url: "${mtx.url}", username: watchpost, password_file: mtx-pass }
    expected:
      - { server: mtx, stream: gate }
      - { server: mtx, stream: lobby }
`),
      log: silentLogger,
    });
    const s = await run(c);
    assert.equal(s.get('watchpost_stream_publishing{server="mtx",app="",stream="gate"}'), 0);
    assert.equal(s.has('watchpost_stream_uptime_seconds{server="mtx",app="",stream="gate"}'), false);
    assert.equal(s.get('watchpost_stream_publishing{server="mtx",app="",stream="lobby"}'), 1);
    assert.equal(
      s.get('watchpost_stream_readers{server="mtx",app="",stream="lobby"}'),
      1,
      'hidden readers are not clients',
    );
    const uptime = s.get('watchpost_stream_uptime_seconds{server="mtx",app="",stream="lobby"}')!;
    assert.ok(uptime >= 0 && uptime < 3600, `uptime ${uptime}`);
    assert.equal(s.get('watchpost_stream_app_publishing_streams{server="mtx",app=""}'), 1);
  });

  it('reports a MediaMTX with wrong credentials as down with "authentication failed"', async () => {
    const logged: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-streams-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'bad-pass'), 'not-the-password\n');
    const c = new StreamsCollector({
      config: parseConfigText(
        `collectors: { streams: { servers: [ { name: mtx, kind: mediamtx, url: "${mtx.url}", username: watchpost, password_file: bad-pass } ] } }`,
        'watchpost.yml',
        {},
        dir,
      ),
      log: createLogger({ write: (line) => logged.push(line) }),
    });
    const s = await run(c);
    assert.equal(s.get('watchpost_stream_server_up{server="mtx",kind="mediamtx"}'), 0);
    assert.match(logged.join('\n'), /mediamtx server \\?"mtx\\?": authentication failed \(HTTP 401\)/);
    assert.ok(!logged.join('\n').includes('not-the-password'));
  });

  it('reports a hung and an unreachable server as down within the timeout, and the run still succeeds', async () => {
    const closed = await serve('');
    closed.server.close();
    const c = new StreamsCollector({
      config: config(`
collectors:
  streams:
    timeout: 500ms
    interval: 1s
    servers:
      - { name: hung, kind: nginx-rtmp, url: "${hungUrl}" }
      - { name: gone, kind: mediamtx, url: "${closed.url.replace('/stat', '')}" }
      - { name: rtmp1, kind: nginx-rtmp, url: "${rtmpUrl}" }
`),
      log: silentLogger,
    });
    const started = Date.now();
    const s = await run(c);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started}ms`);
    assert.equal(s.get('watchpost_stream_server_up{server="hung",kind="nginx-rtmp"}'), 0);
    assert.equal(s.get('watchpost_stream_server_up{server="gone",kind="mediamtx"}'), 0);
    assert.equal(s.get('watchpost_stream_server_up{server="rtmp1",kind="nginx-rtmp"}'), 1);
    assert.ok(s.get('watchpost_stream_server_fetch_duration_seconds{server="hung"}')! >= 0.39);
  });

  it('rejects when the collector itself is aborted', async () => {
    const c = new StreamsCollector({
      config: config(
        `collectors: { streams: { servers: [ { name: hung, kind: nginx-rtmp, url: "${hungUrl}" } ] } }`,
      ),
      log: silentLogger,
    });
    const ac = new AbortController();
    const p = c.collect(ac.signal);
    ac.abort(new Error('collector timeout'));
    await assert.rejects(p, /collector timeout/);
  });

  it('caps stream series per server, keeping expected and publishing streams', async () => {
    const flood: StreamStat[] = Array.from({ length: 30 }, (_, i) => ({
      app: 'live',
      stream: `spam${String(i).padStart(2, '0')}`,
      publishing: i === 29,
      readers: 0,
      bytesIn: 0,
      bytesOut: 0,
    }));
    flood.push({ app: 'live', stream: 'zz-cam', publishing: false, readers: 0, bytesIn: 0, bytesOut: 0 });
    const c = new StreamsCollector(
      {
        config: config(`
collectors:
  streams:
    servers: [ { name: s, kind: nginx-rtmp, url: "http://127.0.0.1:1/stat" } ]
    expected: [ { server: s, app: live, stream: zz-cam } ]
`),
        log: silentLogger,
      },
      { fetchers: { 'nginx-rtmp': () => Promise.resolve({ streams: flood }) }, maxStreamSeries: 5 },
    );
    const s = await run(c);
    const kept = [...s.keys()]
      .filter((k) => k.startsWith('watchpost_stream_publishing{'))
      .map((k) => /stream="([^"]+)"/.exec(k)![1]);
    assert.deepEqual(kept.sort(), ['spam00', 'spam01', 'spam02', 'spam29', 'zz-cam']);
    assert.equal(s.get('watchpost_stream_series_dropped{server="s"}'), 26);
    assert.equal(s.get('watchpost_stream_app_publishing_streams{server="s",app="live"}'), 1);
  });

  it('capStreams drops duplicate names', () => {
    const a = { app: 'x', stream: 'a', publishing: true, readers: 0, bytesIn: 0, bytesOut: 0 };
    assert.deepEqual(capStreams([a, a], new Set(), 10), { kept: [a], dropped: 0 });
  });
});
