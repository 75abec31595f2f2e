import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError, defaultConfig, loadConfigFile, parseConfigText } from './load.js';
import { Secret } from '../internal/secret.js';

const dir = join(import.meta.dirname, 'testdata');

describe('config: one fixture per kind of error', () => {
  const invalid = readdirSync(dir).filter((f) => f.startsWith('invalid-'));
  assert.ok(invalid.length >= 10, 'the fixtures are found');
  for (const name of invalid) {
    it(name, () => {
      const file = join(dir, name);
      const header = /^# expect: (\d+):(\d+) (\S+)(?: (.*))?$/m.exec(readFileSync(file, 'utf8'));
      assert.ok(header, `${name} states what it expects on its first line`);
      const [, line, column, pathOrText, rest] = header;
      assert.throws(
        () => loadConfigFile(file, {}),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
          const first = err.problems[0]!;
          assert.equal(first.file, file, 'the message names the file');
          assert.equal(`${first.line}:${first.column}`, `${line}:${column}`, `position of: ${err.message}`);
          // Either "<key.path> <message>" or, for whole-file problems, just "<message>".
          const isPath = pathOrText!.includes('.') && rest !== undefined && !pathOrText!.endsWith(':');
          const expected = isPath ? rest! : `${pathOrText}${rest ? ` ${rest}` : ''}`;
          if (isPath) assert.equal(first.path, pathOrText, 'the message names the key path');
          assert.ok(first.message.includes(expected), `"${first.message}" should contain "${expected}"`);
          assert.ok(err.message.startsWith(`${file}:${line}:${column}: `), err.message);
          return true;
        },
      );
    });
  }
});

describe('config: loading', () => {
  it('an empty file is the built-in default, which monitors this host', () => {
    const cfg = parseConfigText('', 'empty.yml', {});
    assert.deepEqual(cfg, defaultConfig());
    assert.equal(cfg.exporter.listen, '127.0.0.1:9850', 'listens on loopback only by default');
    assert.equal(cfg.collectors.disk.enabled, true);
    assert.equal(cfg.collectors.host.enabled, true);
    assert.equal(cfg.collectors.disk.interval, 15_000);
    assert.equal(cfg.collectors.disk.alert_threshold_ratio, 0.85);
    assert.equal(cfg.exporter.bearer_token_file, undefined, 'no auth secret is invented');
  });

  it('reads a full file, expands ${ENV} with defaults and reads the secret file', () => {
    const cfg = loadConfigFile(join(dir, 'valid-full.yml'), { WATCHPOST_TEST_LISTEN: '127.0.0.1:19850' });
    assert.equal(cfg.exporter.listen, '127.0.0.1:19850');
    assert.equal(cfg.collectors.disk.interval, 60_000);
    assert.equal(cfg.collectors.disk.thresholds['/srv/recordings'], 0.95);
    assert.equal(cfg.collectors.disk.directories[0]?.interval, 600_000);
    assert.ok(cfg.exporter.bearer_token_file instanceof Secret);
    assert.equal(
      cfg.exporter.bearer_token_file.reveal(),
      's3cr3t-metrics-token-value',
      'trailing newline trimmed',
    );
    const fallback = loadConfigFile(join(dir, 'valid-full.yml'), {});
    assert.equal(fallback.exporter.listen, '127.0.0.1:9850', '${VAR:-default} falls back');
  });

  it('never prints a secret: JSON, String, inspect all show <secret>', () => {
    const cfg = loadConfigFile(join(dir, 'valid-full.yml'), {});
    const printed = [JSON.stringify(cfg), String(cfg.exporter.bearer_token_file), inspect(cfg, { depth: 9 })];
    for (const text of printed) {
      assert.doesNotMatch(text, /s3cr3t-metrics-token-value/);
      assert.match(text, /<secret>/);
    }
  });

  it('re-types an unquoted interpolated scalar, keeps a quoted one a string', () => {
    const text =
      'exporter:\n  process_metrics_interval: ${IV}\ncollectors:\n  disk:\n    alert_threshold_ratio: ${R}\n';
    const cfg = parseConfigText(text, 't.yml', { IV: '7s', R: '0.5' });
    assert.equal(cfg.collectors.disk.alert_threshold_ratio, 0.5);
    assert.equal(cfg.exporter.process_metrics_interval, 7000);
    assert.throws(
      () =>
        parseConfigText('collectors:\n  disk:\n    alert_threshold_ratio: "${R}"\n', 't.yml', { R: '0.5' }),
      /t\.yml:3:28: collectors\.disk\.alert_threshold_ratio: expected a ratio between 0 and 1/,
    );
  });

  it('an environment value cannot inject YAML structure', () => {
    const cfg = parseConfigText('collectors:\n  disk:\n    directories:\n      - path: ${P}\n', 't.yml', {
      P: '/srv\n    interval: 1ms',
    });
    assert.equal(cfg.collectors.disk.directories[0]?.path, '/srv\n    interval: 1ms');
    assert.equal(cfg.collectors.disk.directories[0]?.interval, 300_000);
  });

  it('$$ is a literal dollar and does not interpolate', () => {
    const cfg = parseConfigText('collectors:\n  disk:\n    exclude_mountpoints: "^/a$$"\n', 't.yml', {});
    assert.equal(cfg.collectors.disk.exclude_mountpoints, '^/a$');
  });

  it('reports every problem at once, in file order', () => {
    const text = 'exporter:\n  listen: nope\n  log_levle: info\ncollectors:\n  disk:\n    interval: soon\n';
    assert.throws(
      () => parseConfigText(text, 'many.yml', {}),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((p) => `${p.line}:${p.path}`),
          ['2:exporter.listen', '3:exporter.log_levle', '6:collectors.disk.interval'],
        );
        return true;
      },
    );
  });

  it('a missing config file is a clear error', () => {
    assert.throws(
      () => loadConfigFile('/nonexistent/watchpost.yml', {}),
      /\/nonexistent\/watchpost\.yml: config file does not exist/,
    );
  });

  it("reads only one service's secrets when asked: each container mounts only its own", () => {
    const d = mkdtempSync(join(tmpdir(), 'watchpost-secrets-of-'));
    writeFileSync(join(d, 'metrics'), 'metrics-token-1\n');
    writeFileSync(join(d, 'notifier'), 'notifier-token-2\n');
    const text = 'exporter:\n  bearer_token_file: metrics\nnotifier:\n  bearer_token_file: notifier\n';
    writeFileSync(join(d, 'w.yml'), text);
    const all = loadConfigFile(join(d, 'w.yml'), {});
    assert.equal(all.exporter.bearer_token_file?.reveal(), 'metrics-token-1');
    assert.equal(all.notifier.bearer_token_file?.reveal(), 'notifier-token-2');

    // The exporter's container: the notifier's secret is not mounted there.
    rmSync(join(d, 'notifier'));
    assert.throws(() => loadConfigFile(join(d, 'w.yml'), {}), /secret file ".*notifier" does not exist/);
    const exp = loadConfigFile(join(d, 'w.yml'), {}, { secretsOf: 'exporter' });
    assert.equal(exp.exporter.bearer_token_file?.reveal(), 'metrics-token-1');
    assert.throws(() => exp.notifier.bearer_token_file?.reveal(), /was not read: it belongs to the other/);
    assert.equal(String(exp.notifier.bearer_token_file), '<secret>');

    // The notifier's container: the exporter's secret is not mounted there.
    writeFileSync(join(d, 'notifier'), 'notifier-token-2\n');
    rmSync(join(d, 'metrics'));
    const notif = loadConfigFile(join(d, 'w.yml'), {}, { secretsOf: 'notifier' });
    assert.equal(notif.notifier.bearer_token_file?.reveal(), 'notifier-token-2');
    assert.throws(() => notif.exporter.bearer_token_file?.reveal(), /was not read/);
    // Its own secrets are still required.
    rmSync(join(d, 'notifier'));
    assert.throws(
      () => loadConfigFile(join(d, 'w.yml'), {}, { secretsOf: 'notifier' }),
      /secret file ".*notifier" does not exist/,
    );
  });
});
