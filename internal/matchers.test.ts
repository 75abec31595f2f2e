import assert from 'node:assert/strict';
import { test } from 'node:test';
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
