import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { Secret } from '../../internal/secret.js';
import { freePort, samplePayload, startSmtp } from '../fixtures/fakes.js';
import { classifySmtp, EmailChannel } from './email.js';
import { classifyHttp, MAX_ANSWER_BYTES, parseRetryAfter, SlackChannel } from './slack.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

test('Slack answers are classified as Slack documents them', () => {
  assert.deepEqual(classifyHttp(429, 'rate_limited', '7'), {
    ok: false,
    retryable: true,
    reason: 'rate_limited',
    detail: 'HTTP 429: rate_limited',
    retryAfterMs: 7000,
  });
  for (const [status, body] of [
    [400, 'invalid_payload'],
    [403, 'invalid_token'],
    [404, 'no_service'],
    [404, 'channel_not_found'],
  ] as const) {
    const r = classifyHttp(status, body, null);
    assert.ok(!r.ok && !r.retryable && r.reason === body, JSON.stringify(r));
  }
  const r500 = classifyHttp(500, '<html>oops</html>', null);
  assert.ok(!r500.ok && r500.retryable && r500.reason === 'server_error');
  const r418 = classifyHttp(418, 'teapot stuff!', null);
  assert.ok(!r418.ok && !r418.retryable && r418.reason === 'http_4xx');
  assert.equal(
    parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:30 GMT')),
    30_000,
  );
});

test('SMTP errors: connection and 4xx retryable, 5xx and auth permanent', () => {
  assert.deepEqual(classifySmtp({ code: 'ESOCKET', message: 'connect ECONNREFUSED' }).ok, false);
  const conn = classifySmtp({ code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:1' });
  assert.ok(!conn.ok && conn.retryable && conn.reason === 'network');
  const busy = classifySmtp({ code: 'EENVELOPE', responseCode: 451, message: 'try later' });
  assert.ok(!busy.ok && busy.retryable && busy.reason === 'smtp_4xx');
  const no = classifySmtp({ code: 'EENVELOPE', responseCode: 550, message: 'no such user' });
  assert.ok(!no.ok && !no.retryable && no.reason === 'smtp_5xx');
  const auth = classifySmtp({ code: 'EAUTH', responseCode: 535, message: 'Invalid login' });
  assert.ok(!auth.ok && !auth.retryable && auth.reason === 'auth_failed');
});

test('no secret in a failed send result (Slack URL, SMTP password)', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/services/T1/B1/SeCrEtPaTh`;
  const slack = new SlackChannel('s', undefined, new Secret(url), {}, 2000);
  const r = await slack.send({ payload: samplePayload() }, new AbortController().signal);
  assert.ok(!r.ok && r.retryable && r.reason === 'network', JSON.stringify(r));
  assert.ok(!JSON.stringify(r).includes('SeCrEtPaTh'), JSON.stringify(r));

  const smtp = await startSmtp({ user: 'u', pass: 'right-pass' });
  cleanups.push(() => smtp.close());
  const mail = new EmailChannel(
    'm',
    undefined,
    {
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      starttls: true,
      tls_verify: false,
      username: 'u',
      password_file: new Secret('Wr0ng-Pa55word'),
      from: 'a@example.org',
      to: ['b@example.org'],
    },
    {},
  );
  const m = await mail.send({ payload: samplePayload() }, new AbortController().signal);
  assert.ok(!m.ok && !m.retryable && m.reason === 'auth_failed', JSON.stringify(m));
  assert.ok(!JSON.stringify(m).includes('Wr0ng-Pa55word'));
  assert.equal(smtp.messages.length, 0);
});

/** A loopback HTTP server answering every request with `handler`; closed after the file's tests. */
async function answering(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const sockets = new Set<string>();
  const server = createServer((req, res) => {
    sockets.add(`${req.socket.remotePort}`);
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/services/T1/B1/XXXX`, connections: () => sockets.size };
}

test('a Slack answer that never ends is cut short: the send ends, and is classified by its status', async () => {
  // An answer body larger than any Slack sends (endless here): read up to MAX_ANSWER_BYTES.
  const endless = (status: number) => (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };
  for (const [status, expect] of [
    [500, { retryable: true, reason: 'server_error' }],
    [200, undefined],
  ] as const) {
    const server = await answering(endless(status));
    // A long timeout: the cap, not the timeout, must end the send.
    const slack = new SlackChannel('s', undefined, new Secret(server.url), {}, 120_000);
    const r = await slack.send({ payload: samplePayload() }, new AbortController().signal);
    slack.close();
    if (expect === undefined) assert.deepEqual(r, { ok: true });
    else
      assert.ok(!r.ok && r.retryable === expect.retryable && r.reason === expect.reason, JSON.stringify(r));
  }
  assert.ok(MAX_ANSWER_BYTES <= 1024 * 1024);
});

test('a Slack answer that stalls mid-body ends at the timeout (the whole exchange is bounded)', async () => {
  const server = await answering((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('o'); // and never the rest
  });
  const slack = new SlackChannel('s', undefined, new Secret(server.url), {}, 300);
  const r = await slack.send({ payload: samplePayload() }, new AbortController().signal);
  slack.close();
  assert.ok(!r.ok && r.retryable && r.reason === 'timeout', JSON.stringify(r));
});

test('a redirect from the webhook URL is not followed and not retried', async () => {
  let posts = 0;
  const server = await answering((_req, res) => {
    posts++;
    res.writeHead(301, { Location: 'http://127.0.0.1:1/elsewhere' }).end();
  });
  const slack = new SlackChannel('s', undefined, new Secret(server.url), {}, 5000);
  const r = await slack.send({ payload: samplePayload() }, new AbortController().signal);
  slack.close();
  assert.ok(!r.ok && !r.retryable && r.detail === 'HTTP 301', JSON.stringify(r));
  assert.equal(posts, 1);
});

test('Slack sends reuse one keep-alive connection; the send signal aborts a send under way', async () => {
  let hold = false;
  const server = await answering((_req, res) => {
    if (!hold) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
  });
  const slack = new SlackChannel('s', undefined, new Secret(server.url), {}, 60_000);
  for (let i = 0; i < 5; i++)
    assert.deepEqual(await slack.send({ payload: samplePayload() }, new AbortController().signal), {
      ok: true,
    });
  assert.equal(server.connections(), 1);
  hold = true;
  const stop = new AbortController();
  const pending = slack.send({ payload: samplePayload() }, stop.signal);
  setTimeout(() => stop.abort(), 50);
  const r = await pending;
  slack.close();
  assert.ok(!r.ok && r.retryable && r.reason === 'aborted', JSON.stringify(r));
});
