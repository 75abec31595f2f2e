import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_EXCLUDED_MOUNTPOINTS } from '../exporter/collectors/disk/config.js';
import { DEFAULT_FFMPEG_BINARY } from '../exporter/collectors/ffmpeg/config.js';
import { DEFAULT_EXCLUDED_DEVICES } from '../exporter/collectors/network/config.js';
import { compileUserRegex } from './user-regex.js';

describe('compileUserRegex', () => {
  it('compiles each built-in default with RegExp, to the same answers as the linear-time engine', () => {
    const cases: [string, string[]][] = [
      [
        DEFAULT_EXCLUDED_MOUNTPOINTS,
        [
          '/',
          '/dev',
          '/dev/shm',
          '/devices',
          '/proc',
          '/proc/sys',
          '/sys',
          '/sys/fs/cgroup',
          '/run',
          '/run/credentials/x',
          '/run/credentials',
          '/var/lib/docker',
          '/var/lib/docker/overlay2/a/merged',
          '/var/lib/containers/storage/x',
          '/var/lib/kubelet/pods/p',
          '/snap/core/1',
          '/snap',
          '/etc/hostname',
          '/etc/hosts',
          '/etc/resolv.conf',
          '/etc/resolvXconf',
          '/etc/hosts.allow',
          '/data',
          '/mnt/dev',
          '',
          '/home/ünïcode',
          '/var/lib/docker2',
        ],
      ],
      [
        DEFAULT_EXCLUDED_DEVICES,
        ['lo', 'lo0', 'eth0', 'veth', 'veth1a2b', 'docker0', 'br-1234', 'br0', 'wlan0', 'xlo', 'enp3s0', ''],
      ],
      [
        DEFAULT_FFMPEG_BINARY,
        [
          'ffmpeg',
          '/usr/bin/ffmpeg',
          './ffmpeg',
          'ffmpeg2',
          'xffmpeg',
          '/opt/ffmpeg/bin/ffmpeg',
          'ffprobe',
          '',
        ],
      ],
    ];
    for (const [pattern, inputs] of cases) {
      const native = compileUserRegex(pattern, pattern);
      const linear = compileUserRegex(pattern);
      assert.notEqual(native, linear);
      assert.deepEqual(native.groupNames, linear.groupNames, pattern);
      assert.equal(native.source, pattern);
      let matched = 0;
      for (const text of inputs) {
        assert.equal(native.test(text), linear.test(text), `${pattern} on ${JSON.stringify(text)}`);
        assert.equal(
          native.exec(text) === null,
          linear.exec(text) === null,
          `${pattern} on ${JSON.stringify(text)}`,
        );
        if (native.test(text)) matched++;
      }
      // Each list has texts on both sides.
      assert.ok(matched > 0 && matched < inputs.length, `${pattern}: ${matched} of ${inputs.length} matched`);
    }
  });

  it('runs every other pattern on the linear-time engine, whatever the default', () => {
    // Not the default: lookaround is refused as RE2 refuses it, with the hint.
    assert.throws(() => compileUserRegex('^(?=x)', DEFAULT_FFMPEG_BINARY), /no lookaround/);
    // A pattern with nested quantifiers answers a line that almost matches (RegExp would
    // backtrack through 2^40 ways to split it, and never return).
    const nested = compileUserRegex('^(\\w+\\s?)*: failed', DEFAULT_FFMPEG_BINARY);
    assert.equal(nested.test(`${'word '.repeat(40)}no colon`), false);
    // Named groups, as the log formats read them.
    const re = compileUserRegex('from (?<client>\\S+) port', DEFAULT_FFMPEG_BINARY);
    assert.deepEqual(re.groupNames, ['client']);
    assert.equal(re.exec('Failed from 10.0.0.1 port 22')?.groups.client, '10.0.0.1');
  });
});
