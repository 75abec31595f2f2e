import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfigText } from './load.js';
import { formatMatcher, matches, matchesAll, parseMatcher, type Matcher } from './matchers.js';

function m(text: string): Matcher {
  const r = parseMatcher(text);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.error}`);
  return r.matcher;
}

test('matchers: the four operators, quoted and bare values, escapes', () => {
  assert.deepEqual(m('team="db"'), { name: 'team', op: '=', value: 'db' });
  assert.deepEqual(m('  env != "staging" '), { name: 'env', op: '!=', value: 'staging' });
  assert.deepEqual(m('team=db'), { name: 'team', op: '=', value: 'db' });
  assert.equal(m('svc=~"api|web"').op, '=~');
  assert.equal(m('svc!~"test-.*"').op, '!~');
  assert.equal(m('msg="say \\"hi\\" \\\\ now\\n"').value, 'say "hi" \\ now\n');
  assert.equal(m('team=""').value, '');
  assert.equal(m('path="a=b"').value, 'a=b');
  assert.equal(formatMatcher(m('team=db')), 'team="db"');
});

test('matchers: parse errors say what is wrong', () => {
  const err = (text: string) => {
    const r = parseMatcher(text);
    assert.ok(!r.ok, text);
    return r.error;
  };
  assert.match(err('team'), /expected a matcher such as team="db"/);
  assert.match(err('9team="db"'), /expected a matcher/);
  assert.match(err('team=="db"'), /invalid value/);
  assert.match(err('team="db'), /invalid value/);
  assert.match(err('team="d"b"'), /invalid value/);
  assert.match(err('team="d\\qb"'), /invalid value/);
  assert.match(err('svc=~"(api"'), /invalid regular expression in matcher "svc=~\\"\(api\\"": /);
});

test('matchers: regexes are anchored, a missing label is the empty string', () => {
  const labels = { service: 'api-gateway', team: 'db' };
  assert.equal(matches(m('service=~"api"'), labels), false);
  assert.equal(matches(m('service=~"api.*"'), labels), true);
  assert.equal(matches(m('service=~"web|api-gateway"'), labels), true);
  assert.equal(matches(m('service!~"api"'), labels), true);
  assert.equal(matches(m('service!~"api-.+"'), labels), false);
  assert.equal(matches(m('team="db"'), labels), true);
  assert.equal(matches(m('team!="db"'), labels), false);
  assert.equal(matches(m('env=""'), labels), true);
  assert.equal(matches(m('env!=""'), labels), false);
  assert.equal(matches(m('env=~".*"'), labels), true);
  assert.equal(matches(m('env!="prod"'), labels), true);
  // An inherited property is not a label.
  assert.equal(matches(m('constructor=""'), labels), true);
  assert.equal(matchesAll(undefined, labels), true);
  assert.equal(matchesAll([m('team="db"'), m('service=~"api.*"')], labels), true);
  assert.equal(matchesAll([m('team="db"'), m('service="web"')], labels), false);
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
