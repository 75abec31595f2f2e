import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
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
