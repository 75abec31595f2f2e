import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../config/load.js';
import { silentLogger } from '../../internal/log.js';
import { FfmpegCollector } from '../../exporter/collectors/ffmpeg/ffmpeg.js';
import { StreamsCollector } from '../../exporter/collectors/streams/streams.js';
import type { Collector } from '../../exporter/collector.js';
import { FakeMediamtx } from '../../internal/testing/fake-mediamtx.js';
import { eventually, promtoolCheckMetrics, requireBinary } from '../../internal/testing/helpers.js';
import { RtmpLab } from '../../internal/testing/rtmp.js';
import { fetchRtmpStat } from '../../exporter/sources/nginx-rtmp.js';
import { collectSamples, collectText } from '../samples.js';

/** Runs one collection and returns the samples, keyed by `name{labels}`. */
const collect = (c: Collector) => collectSamples(c, AbortSignal.timeout(10_000));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('streams and ffmpeg collectors against real nginx-rtmp and FFmpeg', () => {
  it('follows publishers, readers, expected streams, and a dead stat page', async (t) => {
    const nginxBin = requireBinary(t, 'nginx');
    const ffmpegBin = nginxBin && requireBinary(t, 'ffmpeg');
    if (!nginxBin || !ffmpegBin) return;

    const lab = new RtmpLab(nginxBin, ffmpegBin);
    const mtx = new FakeMediamtx();
    t.after(async () => {
      await lab.stop();
      await mtx.stop();
    });
    await lab.startNginx();
    await mtx.start();
    mtx.paths = [{ name: 'door', ready: true, readers: 1, bytesIn: 10 }];
    // The lab's folder name is unique: it tags the mosaics this test starts.
    const mosaicTag = `mosaic-${basename(lab.dir)}`;

    const config = parseConfigText(
      `
collectors:
  streams:
    timeout: 3s
    servers:
      - { name: rtmp, kind: nginx-rtmp, url: "${lab.statUrl}", max_streams: 4 }
      - { name: mtx, kind: mediamtx, url: "${mtx.url}" }
    expected:
      - { server: rtmp, app: live, stream: cam1 }
      - { server: rtmp, app: live, stream: cam3 }
  ffmpeg:
    groups:
      # Matched on this nginx's port, so other FFmpeg processes on the machine do not count.
      - { name: publishers, match: "-f flv rtmp://127\\\\.0\\\\.0\\\\.1:${lab.rtmpPort}/", expected: 2 }
      - { name: readers, match: "-i rtmp://127\\\\.0\\\\.0\\\\.1:${lab.rtmpPort}/.* -f null", expected: 1 }
      # Only this test's mosaics: an xstack FFmpeg elsewhere on the machine is not one of them.
      - { name: mosaic, match: "xstack.*comment=${mosaicTag}", expected: 1 }
`,
      'watchpost.yml',
      {},
    );
    const streams = new StreamsCollector({ config, log: silentLogger });
    const ffmpeg = new FfmpegCollector({ config, log: silentLogger });
    const pub = (s: Map<string, number>, stream: string) =>
      s.get(`watchpost_stream_publishing{server="rtmp",app="live",stream="${stream}"}`);

    lab.publish('cam1');
    const cam2 = lab.publish('cam2');
    await eventually(
      async () =>
        (await collect(streams)).get('watchpost_stream_app_publishing_streams{server="rtmp",app="live"}') ===
        2
          ? true
          : undefined,
      15_000,
      'two publishing streams',
    );
    lab.read('cam1');

    await t.test('two publishers and one reader', async () => {
      const s = await eventually(
        async () => {
          const s = await collect(streams);
          return s.get('watchpost_stream_readers{server="rtmp",app="live",stream="cam1"}') === 1
            ? s
            : undefined;
        },
        15_000,
        'a reader on cam1',
      );
      assert.equal(s.get('watchpost_stream_server_up{server="rtmp",kind="nginx-rtmp"}'), 1);
      assert.equal(pub(s, 'cam1'), 1);
      assert.equal(pub(s, 'cam2'), 1);
      assert.equal(s.get('watchpost_stream_readers{server="rtmp",app="live",stream="cam2"}'), 0);
      assert.equal(s.get('watchpost_stream_app_publishing_streams{server="rtmp",app="live"}'), 2);
      assert.equal(s.get('watchpost_stream_max_publishing{server="rtmp"}'), 4);
      assert.ok(s.get('watchpost_stream_uptime_seconds{server="rtmp",app="live",stream="cam1"}')! > 0);
      assert.ok(s.get('watchpost_stream_server_uptime_seconds{server="rtmp"}')! >= 0);

      const before = s.get('watchpost_stream_bytes_in_total{server="rtmp",app="live",stream="cam1"}')!;
      assert.ok(before > 0);
      await sleep(1500);
      const later = await collect(streams);
      const after = later.get('watchpost_stream_bytes_in_total{server="rtmp",app="live",stream="cam1"}')!;
      assert.ok(after > before, `bytes_in went from ${before} to ${after}`);
      assert.ok(later.get('watchpost_stream_bytes_out_total{server="rtmp",app="live",stream="cam1"}')! > 0);
    });

    await t.test(
      'an expected stream that never publishes is expected, with no publishing series',
      async () => {
        const s = await collect(streams);
        assert.equal(s.get('watchpost_stream_expected{server="rtmp",app="live",stream="cam3"}'), 1);
        assert.equal(s.get('watchpost_stream_expected{server="rtmp",app="live",stream="cam1"}'), 1);
        assert.equal(pub(s, 'cam3'), undefined);
      },
    );

    await t.test('FFmpeg groups count the real processes, and only the ones this test started', async () => {
      // Another xstack mosaic on the machine (a real deployment, another test) is not ours.
      const elsewhere = lab.mosaic('someone-else');
      const s = await collect(ffmpeg);
      assert.equal(s.get('watchpost_ffmpeg_processes{group="publishers"}'), 2);
      assert.equal(s.get('watchpost_ffmpeg_processes{group="readers"}'), 1);
      assert.equal(s.get('watchpost_ffmpeg_processes{group="mosaic"}'), 0);
      assert.equal(s.get('watchpost_ffmpeg_expected_processes{group="publishers"}'), 2);
      assert.equal(s.get('watchpost_ffmpeg_expected_processes{group="mosaic"}'), 1);
      assert.ok(s.get('watchpost_ffmpeg_cpu_seconds{group="publishers"}')! > 0);

      const ours = lab.mosaic(mosaicTag);
      await eventually(
        async () =>
          (await collect(ffmpeg)).get('watchpost_ffmpeg_processes{group="mosaic"}') === 1 ? true : undefined,
        10_000,
        'our mosaic counted, and only it',
      );
      await Promise.all([ours.stop(), elsewhere.stop()]);
    });

    await t.test('a stopped publisher leaves the stat page and its group', async () => {
      await cam2.stop();
      const s = await eventually(
        async () => {
          const s = await collect(streams);
          return (pub(s, 'cam2') ?? 0) === 0 ? s : undefined;
        },
        10_000,
        'cam2 to stop publishing',
      );
      assert.equal(pub(s, 'cam1'), 1);
      assert.equal(s.get('watchpost_stream_app_publishing_streams{server="rtmp",app="live"}'), 1);
      const f = await collect(ffmpeg);
      assert.equal(f.get('watchpost_ffmpeg_processes{group="publishers"}'), 1);
    });

    await t.test('the exposition passes promtool check metrics', async (st) => {
      const promtool = requireBinary(st, 'promtool');
      if (!promtool) return;
      for (const c of [streams, ffmpeg]) {
        const r = promtoolCheckMetrics(promtool, await collectText(c, AbortSignal.timeout(10_000)));
        assert.equal(r.output, '', r.output);
      }
    });

    await t.test(
      'a dead stat page is server_up 0; the collector and the MediaMTX server carry on',
      async () => {
        await lab.nginx!.stop();
        const s = await collect(streams);
        assert.equal(s.get('watchpost_stream_server_up{server="rtmp",kind="nginx-rtmp"}'), 0);
        assert.equal(pub(s, 'cam1'), undefined);
        assert.equal(s.get('watchpost_stream_expected{server="rtmp",app="live",stream="cam1"}'), 1);
        assert.equal(s.get('watchpost_stream_server_up{server="mtx",kind="mediamtx"}'), 1);
        assert.equal(s.get('watchpost_stream_publishing{server="mtx",app="",stream="door"}'), 1);
        assert.equal(s.get('watchpost_stream_readers{server="mtx",app="",stream="door"}'), 1);
      },
    );
  });

  it("nginx-rtmp with 2 workers: merges the workers' pages, counts the workers, exports empty applications", async (t) => {
    const nginxBin = requireBinary(t, 'nginx');
    const ffmpegBin = nginxBin && requireBinary(t, 'ffmpeg');
    if (!nginxBin || !ffmpegBin) return;
    const lab = new RtmpLab(nginxBin, ffmpegBin);
    t.after(() => lab.stop());
    await lab.startNginx({ workers: 2, apps: ['mosaic'] });

    /** Which worker (<pid>) carries which publishing streams, from a few pages on fresh connections. */
    const byWorker = async () => {
      const out = new Map<number, Set<string>>();
      for (let i = 0; i < 4; i++) {
        const pages = await Promise.all(
          Array.from({ length: 4 }, () => fetchRtmpStat(lab.statUrl, { signal: AbortSignal.timeout(5_000) })),
        );
        for (const p of pages) {
          const set = out.get(p.pid!) ?? new Set<string>();
          for (const st of p.streams) if (st.publishing) set.add(st.stream);
          out.set(p.pid!, set);
        }
      }
      return out;
    };
    // Publishers land on whichever worker accepts them: add them until both workers carry one.
    const names: string[] = [];
    await eventually(
      async () => {
        const workers = await byWorker();
        const carrying = [...workers.values()].filter((set) => set.size > 0).length;
        const all = new Set([...workers.values()].flatMap((set) => [...set]));
        if (carrying >= 2 && names.every((n) => all.has(n))) return true;
        if (names.length < 12 && names.every((n) => all.has(n))) {
          const name = `w${names.length + 1}`;
          names.push(name);
          lab.publishLight(name);
        }
        return undefined;
      },
      60_000,
      'publishers on both workers',
    );

    const config = parseConfigText(
      `
collectors:
  streams:
    timeout: 4s
    servers:
      - { name: rtmp, kind: nginx-rtmp, url: "${lab.statUrl}" }
    expected:
${names.map((n) => `      - { server: rtmp, app: live, stream: ${n} }`).join('\n')}
`,
      'watchpost.yml',
      {},
    );
    const streams = new StreamsCollector({ config, log: silentLogger });
    const allPublishing = (s: Map<string, number>) =>
      names.every((n) => s.get(`watchpost_stream_publishing{server="rtmp",app="live",stream="${n}"}`) === 1);
    await eventually(
      async () => {
        const s = await collect(streams);
        return s.get('watchpost_stream_server_workers_seen{server="rtmp"}') === 2 && allPublishing(s)
          ? true
          : undefined;
      },
      30_000,
      'both workers seen and every stream publishing',
    );
    // From now on every collection shows every live stream: no flapping for an alert to page on.
    for (let i = 0; i < 8; i++) {
      const s = await collect(streams);
      assert.ok(allPublishing(s), `collection ${i}: a live stream read as not publishing`);
      assert.equal(s.get('watchpost_stream_app_publishing_streams{server="rtmp",app="live"}'), names.length);
      assert.equal(
        s.get('watchpost_stream_app_publishing_streams{server="rtmp",app="mosaic"}'),
        0,
        'an empty application',
      );
      assert.equal(s.get('watchpost_stream_server_workers_seen{server="rtmp"}'), 2);
    }
    assert.match(
      streams.notes().join('\n'),
      /nginx-rtmp server "rtmp": multi-worker nginx-rtmp: stats are partial/,
    );
  });
});
