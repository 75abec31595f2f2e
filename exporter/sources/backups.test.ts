import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSize } from '../../config/size.js';
import { globToRegExp, parseMarkerTime } from './backups.js';

describe('parseMarkerTime', () => {
  it('reads Unix seconds and RFC 3339', () => {
    assert.equal(parseMarkerTime('1714532400\n'), 1714532400);
    assert.equal(parseMarkerTime('1714532400.25'), 1714532400.25);
    assert.equal(parseMarkerTime('2024-05-01T03:00:00Z'), 1714532400);
    assert.equal(parseMarkerTime('2024-05-01 05:00:00+02:00'), 1714532400);
  });

  it('rejects anything else, with the content in the message', () => {
    assert.throws(() => parseMarkerTime(''), /neither Unix seconds nor an RFC 3339 time/);
    assert.throws(() => parseMarkerTime('OK'), /"OK" is neither/);
    assert.throws(() => parseMarkerTime('2024-05-01'), /neither/);
    assert.throws(() => parseMarkerTime('Wed May  1 03:00:00 UTC 2024'), /neither/);
    assert.throws(() => parseMarkerTime('1714532400000'), /looks like milliseconds/);
  });
});

describe('globToRegExp', () => {
  it('* and ? within one name, no leading dot, the rest literal', () => {
    const re = globToRegExp('*.sql.gz');
    assert.ok(re.test('db.sql.gz'));
    assert.ok(!re.test('db.sql.gz.tmp'));
    assert.ok(!re.test('.db.sql.gz'));
    assert.ok(!re.test('dbXsqlXgz'), 'dots are literal');
    assert.ok(globToRegExp('day-??.tgz').test('day-01.tgz'));
    assert.ok(!globToRegExp('day-??.tgz').test('day-1.tgz'));
    assert.ok(globToRegExp('.hidden-*').test('.hidden-x'));
    assert.ok(globToRegExp('a+(b)[c]').test('a+(b)[c]'));
  });
});

describe('parseSize', () => {
  it('bytes, SI and IEC units', () => {
    assert.equal(parseSize('1'), 1);
    assert.equal(parseSize('500KB'), 500_000);
    assert.equal(parseSize('10MiB'), 10 * 1024 * 1024);
    assert.equal(parseSize('1.5 GB'), 1_500_000_000);
    assert.equal(parseSize('2kib'), 2048);
    assert.equal(parseSize('7B'), 7);
    assert.equal(parseSize('10 parsecs'), undefined);
    assert.equal(parseSize('-1'), undefined);
    assert.equal(parseSize('MB'), undefined);
  });
});
