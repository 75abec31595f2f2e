import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeLog } from './change-log.js';

describe('ChangeLog', () => {
  it('logs a failure once per change of message, and the recovery once', () => {
    const lines: string[] = [];
    const log = new ChangeLog<number>(
      (key, message, detail) => lines.push(`fail ${key} ${message} ${detail}`),
      (key) => lines.push(`ok ${key}`),
      (key, message) => lines.push(`again ${key} ${message}`),
    );
    log.ok('a'); // never failed: nothing to say
    log.fail('a', 'refused', 1);
    log.fail('a', 'refused', 2);
    log.fail('b', 'refused', 3);
    assert.equal(log.failing('a'), true);
    assert.equal(log.message('a'), 'refused');
    log.fail('a', 'timeout', 4);
    log.ok('a');
    log.ok('a');
    assert.equal(log.failing('a'), false);
    assert.equal(log.message('a'), undefined);
    log.fail('a', 'timeout', 5);
    assert.deepEqual(lines, [
      'fail a refused 1',
      'again a refused',
      'fail b refused 3',
      'fail a timeout 4',
      'ok a',
      'fail a timeout 5',
    ]);
  });

  it('needs neither a recovery nor a repeat callback', () => {
    const lines: string[] = [];
    const log = new ChangeLog((key, message) => lines.push(`${key}: ${message}`));
    log.fail('x', 'm');
    log.fail('x', 'm');
    log.ok('x');
    log.fail('x', 'm');
    assert.deepEqual(lines, ['x: m', 'x: m']);
  });
});
