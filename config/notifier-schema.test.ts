import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatMatcher, matchesAll } from '../internal/matchers.js';
import { ConfigError, defaultConfig, parseConfigText } from './load.js';

test('notifier: the built-in default listens on loopback with one log channel', () => {
  const c = defaultConfig().notifier;
  assert.equal(c.listen, '127.0.0.1:9851');
  assert.equal(c.bearer_token_file, undefined);
  assert.equal(c.state_dir, join(process.cwd(), '.watchpost', 'notifier'));
  assert.equal(c.max_body_bytes, 1024 * 1024);
  assert.equal(c.outbox_max_entries, 10000);
  assert.equal(c.dedupe_window, 600_000);
  assert.equal(c.heartbeat.timeout, 300_000);
  assert.deepEqual(c.channels, [{ name: 'log', type: 'log' }]);
});

test('notifier: errors name the line and the key path, like every other section', () => {
  const text = [
    'exporter: {}',
    'notifier:',
    '  dedupe_window: soon',
    '  channels:',
    '    - name: s',
    '      type: slack',
    '    - name: s',
    '      type: pager',
    '  colour: red',
  ].join('\n');
  assert.throws(
    () => parseConfigText(text, 'w.yml', {}, '/tmp'),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        /w\.yml:3:18: notifier\.dedupe_window: expected the dedupe window as a duration/,
      );
      assert.match(
        err.message,
        /w\.yml:\d+:\d+: notifier\.channels\.0\.slack: expected "slack" settings for type slack/,
      );
      assert.match(err.message, /w\.yml:8:13: notifier\.channels\.1\.type: /);
      assert.match(err.message, /w\.yml:9:3: notifier\.colour: unknown key "colour"/);
      return true;
    },
  );
});

test('notifier.channels[].matchers: parsed at load, errors name file, line and key', () => {
  const ok = parseConfigText(
    [
      'notifier:',
      '  channels:',
      '    - name: db',
      '      type: log',
      '      matchers: [\'team="db"\', \'env!~"staging|dev"\']',
    ].join('\n'),
    'w.yml',
    {},
    '/tmp',
  );
  const ms = ok.notifier.channels[0]!.matchers!;
  assert.deepEqual(
    ms.map((x) => formatMatcher(x)),
    ['team="db"', 'env!~"staging|dev"'],
  );
  assert.equal(matchesAll(ms, { team: 'db', env: 'prod' }), true);
  assert.equal(matchesAll(ms, { team: 'db', env: 'dev' }), false);

  const text = [
    'notifier:',
    '  channels:',
    '    - name: db',
    '      type: log',
    '      matchers:',
    '        - team="db"',
    '        - service=~"(api"',
    '        - just-text',
    '    - name: other',
    '      type: log',
    '      matchers: team="db"',
  ].join('\n');
  assert.throws(
    () => parseConfigText(text, 'w.yml', {}, '/tmp'),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        /w\.yml:7:11: notifier\.channels\.0\.matchers\.1: invalid regular expression in matcher/,
      );
      assert.match(
        err.message,
        /w\.yml:8:11: notifier\.channels\.0\.matchers\.2: expected a matcher such as/,
      );
      assert.match(
        err.message,
        /w\.yml:11:\d+: notifier\.channels\.1\.matchers: expected a list of matcher strings/,
      );
      return true;
    },
  );
});
