import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseRtmpStat } from './nginx-rtmp.js';

// Captured from nginx 1.22.1 with Debian's libnginx-mod-rtmp 1.1.4, `rtmp_stat all`,
// by the helper in internal/testing/rtmp.ts: two FFmpeg publishers on live/cam1 and
// live/cam2 and one FFmpeg reader on live/cam1; and the same nginx idle. The module
// ends lines with CRLF.
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('parseRtmpStat', () => {
  it('reads two publishing streams and a reader from a real stat page', () => {
    assert.deepEqual(parseRtmpStat(fixture('rtmp-stat-two-streams.xml')), {
      uptimeSeconds: 5,
      pid: 14089,
      apps: ['live'],
      streams: [
        {
          app: 'live',
          stream: 'cam1',
          publishing: true,
          readers: 1,
          bytesIn: 119259,
          bytesOut: 70553,
          uptimeSeconds: 5.079,
        },
        {
          app: 'live',
          stream: 'cam2',
          publishing: true,
          readers: 0,
          bytesIn: 119259,
          bytesOut: 0,
          uptimeSeconds: 5.079,
        },
      ],
    });
  });

  it('reads an idle server as no streams', () => {
    assert.deepEqual(parseRtmpStat(fixture('rtmp-stat-idle.xml')), {
      uptimeSeconds: 0,
      pid: 14089,
      apps: ['live'],
      streams: [],
    });
  });

  it('counts a stream with readers and no publisher as not publishing', () => {
    const xml = fixture('rtmp-stat-two-streams.xml')
      .replace(/<client><id>4<\/id>.*?<\/client>\r?\n/, '')
      .replace(/<nclients>2<\/nclients>\r?\n<publishing\/>\r?\n<active\/>/, '<nclients>1</nclients>');
    const cam1 = parseRtmpStat(xml).streams[0]!;
    assert.equal(cam1.stream, 'cam1');
    assert.equal(cam1.publishing, false);
    assert.equal(cam1.readers, 1);
  });

  it('falls back on nclients minus the publisher without <client> elements', () => {
    const xml = fixture('rtmp-stat-two-streams.xml').replace(/<client>.*?<\/client>\r?\n/g, '');
    assert.deepEqual(
      parseRtmpStat(xml).streams.map((s) => s.readers),
      [1, 0],
    );
  });

  it('rejects what is not a stat page with a clear error', () => {
    assert.throws(() => parseRtmpStat('<rtmp><server>'), /not well-formed XML/);
    assert.throws(() => parseRtmpStat('garbage \u0000 <<<'), /not well-formed XML|no <rtmp> root/);
    assert.throws(() => parseRtmpStat('<html><body>502 Bad Gateway</body></html>'), /no <rtmp> root element/);
    assert.throws(
      () => parseRtmpStat(fixture('rtmp-stat-two-streams.xml').replace('<bytes_in>119259', '<bytes_in>lots')),
      /expected a number in <bytes_in>/,
    );
  });
});
