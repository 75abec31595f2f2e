import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../config/load.js';
import { defaultNotifierConfig, parseNotifierText } from './config.js';

test('the built-in default: loopback, a log channel, every default', () => {
  const c = defaultNotifierConfig();
  assert.equal(c.listen, '127.0.0.1:9851');
  assert.equal(c.bearer_token_file, undefined);
  assert.equal(c.state_dir, join(process.cwd(), '.watchpost', 'notifier'));
  assert.equal(c.max_body_bytes, 1024 * 1024);
  assert.equal(c.outbox_max_entries, 10000);
  assert.equal(c.dedupe_window, 600_000);
  assert.equal(c.heartbeat.timeout, 300_000);
  assert.deepEqual(c.channels, [{ name: 'log', type: 'log' }]);
});

test('errors name the line and the key path', () => {
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
  try {
    parseNotifierText(text, 'w.yml', '/tmp');
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const msg = err.message;
    assert.match(msg, /w\.yml:3:18: notifier\.dedupe_window: expected the dedupe window as a duration/);
    assert.match(
      msg,
      /w\.yml:\d+:\d+: notifier\.channels\.0\.slack: expected "slack" settings for type slack/,
    );
    assert.match(msg, /w\.yml:8:13: notifier\.channels\.1\.type: /);
    assert.match(msg, /notifier: unknown key "colour"/);
  }
});

test('the example in docs/notifier.md is a valid notifier config', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'notifier.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 1);
  for (const block of blocks) {
    try {
      parseNotifierText(block, 'docs/notifier.md', '/tmp');
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      const real = err.problems.filter(
        (p) => !/^secret file "\/run\/secrets\/[^"]+" does not exist$/.test(p.message),
      );
      assert.deepEqual(real, [], block);
    }
  }
});
