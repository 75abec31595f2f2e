import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stopParseWorker } from '../../sources/parse-off-loop.js';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../../../config/load.js';
import { createLogger } from '../../../internal/log.js';
import { collectSamples } from '../../../test/samples.js';
import { StreamsCollector } from './streams.js';

const servers: Server[] = [];
after(async () => {
  await stopParseWorker();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const stream = (i: number) =>
  `<stream><name>cam${i}</name><time>1000</time><bytes_in>1</bytes_in><bytes_out>1</bytes_out><nclients>1</nclients><publishing/></stream>`;
const statPage = (n: number) =>
  `<?xml version="1.0"?><rtmp><uptime>5</uptime><server><application><name>live</name><live>${Array.from({ length: n }, (_, i) => stream(i)).join('')}</live></application></server></rtmp>`;

async function serve(body: string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/stat`;
}

describe('StreamsCollector: a large answer below max_body_size', () => {
  it('is parsed off the event loop, whole', async () => {
    const url = await serve(statPage(15_000)); // ~1.9 MB: parsed on the worker thread
    const c = new StreamsCollector({
      config: parseConfigText(
        // A generous timeout: the worker thread starts on first use (through tsx here).
        `collectors: { streams: { interval: 60s, timeout: 60s, servers: [ { name: big, kind: nginx-rtmp, url: "${url}" } ] } }`,
        'watchpost.yml',
        {},
      ),
      log: createLogger({ write: () => {} }),
    });
    const s = await collectSamples(c);
    assert.equal(s.get('watchpost_stream_server_up{server="big",kind="nginx-rtmp"}'), 1);
    assert.equal(s.get('watchpost_stream_app_publishing_streams{server="big",app="live"}'), 15_000);
  });
});

describe('StreamsCollector: an answer above max_body_size', () => {
  it('is a failure with reason too_large, never a success, and says so in the log', async () => {
    // A well-formed stat page of ~3 MB: before the limit it was parsed and reported as up.
    const url = await serve(statPage(25_000));
    const logged: string[] = [];
    const c = new StreamsCollector({
      config: parseConfigText(
        `collectors: { streams: { max_body_size: 1MiB, servers: [ { name: big, kind: nginx-rtmp, url: "${url}" } ] } }`,
        'watchpost.yml',
        {},
      ),
      log: createLogger({ write: (l) => logged.push(l) }),
    });
    const s = await collectSamples(c);
    assert.equal(s.get('watchpost_stream_server_up{server="big",kind="nginx-rtmp"}'), 0);
    assert.equal(s.get('watchpost_stream_server_failure_reason{server="big",reason="too_large"}'), 1);
    assert.equal([...s.keys()].filter((k) => k.startsWith('watchpost_stream_publishing')).length, 0);
    assert.match(logged.join('\n'), /response too large: the body is longer than 1 MiB/);
  });
});
