import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { parseConfigText } from '../config/load.js';
import { silentLogger } from '../internal/log.js';
import { startExporter, type ExporterHandle } from './run.js';

/** process_cpu_seconds_total in an exposition text. */
function cpuSeconds(text: string): number {
  const m = /^process_cpu_seconds_total (\S+)$/m.exec(text);
  assert.ok(m, 'process_cpu_seconds_total is served');
  return Number(m[1]);
}

/** Keeps the CPU busy for `ms` of CPU time, so that process_cpu_seconds_total must move. */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 100_000; i++) x += Math.sqrt(i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) break;
  }
  assert.ok(x > 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('process and Node.js metrics, rendered for the scrapes that read them', () => {
  let exporter: ExporterHandle | undefined;
  afterEach(async () => {
    await exporter?.close();
    exporter = undefined;
  });

  const start = (interval: string) =>
    startExporter({
      config: parseConfigText(
        `exporter: { listen: "127.0.0.1:0", process_metrics_interval: ${interval} }`,
        'watchpost.yml',
        {},
        '/',
      ),
      log: silentLogger,
      version: 'test',
      collectors: [],
    });
  const scrape = async (e: ExporterHandle) => {
    const res = await fetch(`http://127.0.0.1:${e.address.port}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };

  it('are not re-rendered while nobody scrapes: an idle exporter does no work for them', async () => {
    exporter = await start('100ms');
    const before = exporter.exposition.plain().toString('utf8');
    const renders = exporter.processMetrics.renders;
    // Ten intervals pass with the CPU busy: a timer would have re-rendered them by now.
    for (let i = 0; i < 10; i++) {
      burnCpu(20);
      await sleep(100);
    }
    assert.equal(exporter.processMetrics.renders, renders, 'no render without a scrape');
    assert.equal(cpuSeconds(exporter.exposition.plain().toString('utf8')), cpuSeconds(before));
  });

  it('a scrape that finds them older than the interval gets them measured now', async () => {
    exporter = await start('100ms');
    const before = cpuSeconds(exporter.exposition.plain().toString('utf8'));
    burnCpu(50);
    await sleep(150);
    const after = cpuSeconds(await scrape(exporter));
    assert.ok(after >= before + 0.04, `process_cpu_seconds_total ${before} -> ${after} after 50 ms of CPU`);
    assert.match(
      exporter.exposition.plain().toString('utf8'),
      /^nodejs_eventloop_lag_p99_seconds \S+$/m,
      'the event-loop histogram is served',
    );
  });

  it('scrapes within the interval, one after another or at once, share one render', async () => {
    exporter = await start('1h');
    const renders = exporter.processMetrics.renders;
    assert.equal(renders, 1, 'rendered once at start, so the first scrape does not wait');
    for (let i = 0; i < 5; i++) await scrape(exporter);
    assert.equal(exporter.processMetrics.renders, renders, 'no render for scrapes within the interval');
    await exporter.close();

    exporter = await start('2s');
    const e = exporter;
    const first = e.processMetrics.renders;
    // Wait until the part is older than its interval, then scrape five times at once.
    await sleep(2100);
    await Promise.all(Array.from({ length: 5 }, () => scrape(e)));
    assert.equal(e.processMetrics.renders, first + 1, 'one render served the five concurrent scrapes');
  });

  it('serves the event loop lag beyond the sampling period: near 0 when idle, the stall when blocked', async () => {
    const lagMax = (text: string) => {
      const m = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
      assert.ok(m, 'nodejs_eventloop_lag_max_seconds is served');
      return Number(m[1]);
    };
    exporter = await start('100ms');
    // Idle for a few of the histogram's one-second samples: Node records each as the whole
    // interval between wake-ups (about 1 s); the lag is what came beyond it.
    await scrape(exporter);
    await sleep(2600);
    const idle = lagMax(await scrape(exporter));
    assert.ok(idle < 0.5, `an idle exporter's lag max is ${idle} s: the sampling period is served as lag`);
    // Blocked for 1.5 s: at least one sample falls due inside the stall and comes 0.5 s late.
    // (Node counts a sample from the previous one, and the render above reset the histogram:
    // wait for the first sample after it.)
    await sleep(1300);
    burnCpu(1500);
    await sleep(1200);
    const blocked = lagMax(await scrape(exporter));
    assert.ok(blocked >= 0.4, `lag max ${blocked} s after a 1.5 s stall`);
  });
});
