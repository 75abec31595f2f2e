import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, parseConfigText } from '../config/load.js';
import { createLogger } from '../internal/log.js';
import { makeCa } from '../internal/testing/certs.js';
import { eventually, requireBinary, skipWithout } from '../internal/testing/helpers.js';
import { startExporter } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'a-metrics-token-of-enough-length';
writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });

/** GET over TLS trusting only `ca`; resolves with the status and the served certificate's fingerprint. */
function get(port: number, ca: string, path: string, token?: string) {
  return new Promise<{ status: number; fingerprint256: string; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: readFileSync(ca),
        agent: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        const fingerprint256 = (res.socket as import('node:tls').TLSSocket).getPeerCertificate()
          .fingerprint256;
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint256, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('exporter TLS', { skip: skipWithout('openssl') }, () => {
  it('serves HTTPS with the token, and swaps in a renewed certificate without a restart', async (t) => {
    const openssl = requireBinary(t, 'openssl')!;
    const ca = makeCa(openssl, dir);
    const first = ca.issue('first');
    const second = ca.issue('second');
    const served = { cert: join(dir, 'served.pem'), key: join(dir, 'served.key') };
    copyFileSync(first.certFile, served.cert);
    copyFileSync(first.keyFile, served.key);
    chmodSync(served.key, 0o600);
    const lines: string[] = [];
    const exporter = await startExporter({
      config: parseConfigText(
        `exporter:\n  listen: 127.0.0.1:0\n  bearer_token_file: token\n  tls: { cert_file: served.pem, key_file: served.key, reload_interval: 100ms }\n`,
        join(dir, 'watchpost.yml'),
        {},
        dir,
      ),
      log: createLogger({ level: 'info', write: (l) => lines.push(l) }),
      version: 'test',
      collectors: [],
    });
    try {
      const port = exporter.address.port;
      const one = await get(port, ca.caFile, '/metrics', TOKEN);
      assert.equal(one.status, 200);
      assert.match(one.body, /watchpost_exporter_build_info/);
      assert.equal(one.fingerprint256, first.fingerprint256);
      assert.equal((await get(port, ca.caFile, '/metrics')).status, 401);
      // Plain HTTP on the TLS port gets no metrics.
      await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));

      // A renewal written as certbot does (new files renamed into place).
      copyFileSync(second.certFile, join(dir, 'next.pem'));
      copyFileSync(second.keyFile, join(dir, 'next.key'));
      renameSync(join(dir, 'next.key'), served.key);
      renameSync(join(dir, 'next.pem'), served.cert);
      await eventually(
        async () =>
          (await get(port, ca.caFile, '/-/healthy')).fingerprint256 === second.fingerprint256
            ? true
            : undefined,
        20_000,
        'the renewed certificate served',
      );
      assert.ok(lines.some((l) => l.includes('TLS certificate reloaded')));

      // A half-written renewal (a key that does not match) is refused; the last good pair stays served.
      copyFileSync(first.keyFile, served.key);
      await eventually(
        () => (lines.some((l) => l.includes('TLS certificate not reloaded')) ? true : undefined),
        20_000,
        'the refused reload logged',
      );
      const refused = lines.find((l) => l.includes('TLS certificate not reloaded'))!;
      assert.match(refused, /does not match the certificate/);
      assert.doesNotMatch(refused, /PRIVATE KEY/);
      assert.equal((await get(port, ca.caFile, '/metrics', TOKEN)).fingerprint256, second.fingerprint256);
    } finally {
      await exporter.close();
    }
  });

  it('a missing or mismatched file is a config error naming the key, never the key itself', (t) => {
    const openssl = requireBinary(t, 'openssl')!;
    const ca = makeCa(openssl, mkdtempSync(join(dir, 'ca2-')));
    const a = ca.issue('a');
    const b = ca.issue('b');
    const load = (yaml: string) => {
      try {
        parseConfigText(yaml, join(dir, 'watchpost.yml'), {}, dir);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.message;
      }
      assert.fail('expected a config error');
    };
    const missing = load(`exporter:\n  tls:\n    cert_file: nowhere.pem\n    key_file: ${a.keyFile}\n`);
    assert.match(missing, /watchpost\.yml:3:\d+: exporter\.tls\.cert_file/);
    assert.match(missing, /nowhere\.pem" does not exist/);
    const mismatch = load(`exporter:\n  tls:\n    cert_file: ${a.certFile}\n    key_file: ${b.keyFile}\n`);
    assert.match(mismatch, /exporter\.tls\.key_file/);
    assert.match(mismatch, /does not match the certificate/);
    assert.doesNotMatch(mismatch, /BEGIN|PRIVATE/);
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    assert.match(
      load(`exporter:\n  tls: { cert_file: ${notPem}, key_file: ${a.keyFile} }\n`),
      /holds no PEM certificate/,
    );
  });
});
