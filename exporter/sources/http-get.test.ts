import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { stopParseWorker } from './parse-off-loop.js';
import { after, describe, it } from 'node:test';
import { FetchFailure, httpGet } from './http-get.js';
import { fetchMediamtxPaths } from './mediamtx.js';
import { fetchRtmpStat } from './nginx-rtmp.js';

/**
 * Peers that answer badly: an endless 200 body, a body larger than the limit, a body that
 * trickles past the deadline. Each test reproduces what an endless body did to the
 * exporter before (fetch went on reading after its abort; RSS grew to gigabytes) and
 * checks that the socket is closed on the server's side too.
 */

const servers: Server[] = [];
after(async () => {
  await stopParseWorker();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

interface Peer {
  url: string;
  /** Resolves when the server sees the client's socket closed. */
  closed: () => Promise<void>;
  bytesSent: () => number;
}

async function peer(handler: (res: ServerResponse, sent: (n: number) => void) => void): Promise<Peer> {
  let sent = 0;
  let socketClosed: Promise<void> = new Promise(() => {});
  const server = createServer((_req, res) => handler(res, (n) => (sent += n)));
  server.on('connection', (socket: Socket) => {
    socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stat`,
    closed: () => socketClosed,
    bytesSent: () => sent,
  };
}

/** Writes 64 KiB chunks for as long as the client reads, with no end. */
function endless(res: ServerResponse, sent: (n: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, '<rtmp>');
  res.writeHead(200, { 'content-type': 'text/xml' });
  const pump = () => {
    while (!res.destroyed) {
      sent(chunk.length);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

const never = () => new AbortController().signal;

describe('httpGet and the stream sources: bodies are bounded', () => {
  it('an endless 200 body fails as too_large at the limit and the socket is closed', async () => {
    const p = await peer(endless);
    await assert.rejects(fetchRtmpStat(p.url, { signal: never(), maxBytes: 1024 * 1024 }), (err: unknown) => {
      assert.ok(err instanceof FetchFailure, String(err));
      assert.equal(err.reason, 'too_large');
      assert.match(err.message, /response too large: the body is longer than 1 MiB/);
      return true;
    });
    await p.closed();
    // What the server could push before the close: the limit plus the socket buffers,
    // never the gigabytes an unbounded read took.
    assert.ok(p.bytesSent() < 64 * 1024 * 1024, `server sent ${p.bytesSent()} bytes`);
  });

  it('MediaMTX: an endless body fails as too_large too', async () => {
    const p = await peer(endless);
    await assert.rejects(
      fetchMediamtxPaths(p.url.replace('/stat', ''), { signal: never(), maxBytes: 512 * 1024 }),
      (err: unknown) => err instanceof FetchFailure && err.reason === 'too_large',
    );
    await p.closed();
  });

  it('a 48 MB stat page declared by Content-Length is refused without reading it', async () => {
    const size = 48 * 1024 * 1024;
    const p = await peer((res, sent) => {
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': size });
      const chunk = Buffer.alloc(1024 * 1024, ' ');
      let left = size;
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          sent(chunk.length);
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (left <= 0) res.end();
      };
      pump();
    });
    await assert.rejects(
      fetchRtmpStat(p.url, { signal: never(), maxBytes: 4 * 1024 * 1024 }),
      (err: unknown) => err instanceof FetchFailure && err.reason === 'too_large',
    );
    await p.closed();
  });

  it('the deadline ends the exchange while the body trickles in, and closes the socket', async () => {
    const p = await peer((res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.write('<?xml version="1.0"?><rtmp>');
      const timer = setInterval(() => res.write('<x/>'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const ac = new AbortController();
    const deadline = setTimeout(() => ac.abort(new Error('no answer within 300ms')), 300);
    await assert.rejects(fetchRtmpStat(p.url, { signal: ac.signal, maxBytes: 1024 * 1024 }), /within 300ms/);
    clearTimeout(deadline);
    await p.closed();
  });

  it('reads a body below the limit whole', async () => {
    const p = await peer((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(1000));
    });
    const r = await httpGet(p.url, { signal: never(), maxBytes: 1000 });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1000);
    await assert.rejects(
      httpGet(p.url, { signal: never(), maxBytes: 999 }),
      (err: unknown) => err instanceof FetchFailure && err.reason === 'too_large',
    );
  });
});

describe('parseOffLoop', () => {
  it('parses a large answer on the worker thread, and a deadline stops it', async () => {
    const { parseOffLoop, IN_PLACE_MAX_BYTES } = await import('./parse-off-loop.js');
    const { parseRtmpStat } = await import('./nginx-rtmp.js');
    const streams = Array.from(
      { length: 5000 },
      (_, i) =>
        `<stream><name>s${i}</name><bytes_in>1</bytes_in><bytes_out>2</bytes_out><nclients>0</nclients></stream>`,
    ).join('');
    const page = `<rtmp><server><application><name>live</name><live>${streams}</live></application></server></rtmp>`;
    assert.ok(page.length > IN_PLACE_MAX_BYTES);
    let inPlace = 0;
    const stat = await parseOffLoop('nginx-rtmp', page, never(), (b) => (inPlace++, parseRtmpStat(b)));
    assert.equal(inPlace, 0, 'a large page is not parsed on the event loop');
    assert.equal(stat.streams.length, 5000);
    assert.equal(stat.streams[4999]!.bytesOut, 2);
    await assert.rejects(
      parseOffLoop('nginx-rtmp', `<rtmp>${' '.repeat(IN_PLACE_MAX_BYTES)}`, never(), parseRtmpStat),
    );
    const ac = new AbortController();
    const p = parseOffLoop('nginx-rtmp', page, ac.signal, parseRtmpStat);
    ac.abort(new Error('deadline'));
    await assert.rejects(p, /deadline/);
    // The next parse gets a new worker.
    assert.equal((await parseOffLoop('nginx-rtmp', page, never(), parseRtmpStat)).streams.length, 5000);
  });
});
