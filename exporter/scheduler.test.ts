import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../internal/log.js';
import { eventually } from '../internal/testing/helpers.js';
import { gauge, Snapshot, type Collector, type MetricFamily } from './collector.js';
import { Exposition } from './exposition.js';
import { REFRESH_COALESCE_MS, Scheduler } from './scheduler.js';

/** A collector whose behaviour each test scripts: the runner is the unit under test. */
class ScriptedCollector implements Collector {
  readonly families: MetricFamily[];
  readonly value: MetricFamily;
  calls = 0;
  closed = false;
  lastSignal?: AbortSignal;
  constructor(
    readonly name: string,
    private readonly behave: (call: number, signal: AbortSignal) => Promise<number>,
  ) {
    this.value = gauge(`test_${name}_value`, `Value of ${name}.`);
    this.families = [this.value];
  }
  async collect(signal: AbortSignal): Promise<Snapshot> {
    this.lastSignal = signal;
    const value = await this.behave(++this.calls, signal);
    return new Snapshot().add(this.value, {}, value);
  }
  close(): void {
    this.closed = true;
  }
}

const settings = (interval = 60_000, timeout = 200) => ({ enabled: true, interval, timeout });

function setup(...collectors: Collector[]) {
  const exposition = new Exposition();
  const scheduler = new Scheduler(
    collectors.map((collector) => ({ collector, settings: settings() })),
    { log: silentLogger, exposition },
  );
  return { exposition, scheduler, text: () => exposition.plain().toString('utf8') };
}

describe('Scheduler', () => {
  it('serves a working collector and marks a throwing one failed without affecting the other', async () => {
    const good = new ScriptedCollector('good', async () => 42);
    const bad = new ScriptedCollector('bad', async () => {
      throw new Error('socket closed');
    });
    const { scheduler, text } = setup(good, bad);
    await scheduler.runOnce('good');
    const status = await scheduler.runOnce('bad');
    await new Promise((r) => setImmediate(r));
    assert.equal(status.success, false);
    assert.equal(status.lastError, 'socket closed');
    assert.match(text(), /^test_good_value 42$/m);
    assert.match(text(), /^watchpost_collector_success\{collector="good"\} 1$/m);
    assert.match(text(), /^watchpost_collector_success\{collector="bad"\} 0$/m);
    assert.match(text(), /^watchpost_collector_last_success_timestamp_seconds\{collector="bad"\} 0$/m);
    assert.doesNotMatch(text(), /test_bad_value/);
  });

  it('times out a hung collector, aborts its signal, and drops a late result', async () => {
    let release!: (v: number) => void;
    const slow = new ScriptedCollector('slow', (call) =>
      call === 1 ? new Promise<number>((r) => (release = r)) : Promise.resolve(7),
    );
    const { scheduler, text } = setup(slow);
    const t0 = Date.now();
    const status = await scheduler.runOnce('slow');
    assert.ok(Date.now() - t0 < 2000, 'runOnce returned at the timeout, not when the work ended');
    assert.equal(status.success, false);
    assert.match(status.lastError ?? '', /timed out after 200ms/);
    assert.equal(slow.lastSignal?.aborted, true);

    // While the hung call is still under way, no second call is stacked on it.
    const skipped = await scheduler.runOnce('slow');
    assert.equal(slow.calls, 1);
    assert.equal(skipped.success, false);
    assert.match(skipped.lastError ?? '', /previous run has not finished/);

    release(999);
    await new Promise((r) => setImmediate(r));
    assert.doesNotMatch(text(), /test_slow_value 999/, 'a late result must never be applied');

    const after = await scheduler.runOnce('slow');
    assert.equal(after.success, true);
    assert.match(text(), /^test_slow_value 7$/m);
  });

  it('removes the values of a collector that starts failing, and restores them on recovery', async () => {
    let fail = false;
    const flaky = new ScriptedCollector('flaky', async (call) => {
      if (fail) throw new Error('daemon went away');
      return call;
    });
    const { scheduler, text } = setup(flaky);
    await scheduler.runOnce('flaky');
    assert.match(text(), /^test_flaky_value 1$/m);
    fail = true;
    await scheduler.runOnce('flaky');
    await new Promise((r) => setImmediate(r));
    assert.doesNotMatch(text(), /test_flaky_value/, 'stale values are not served as current');
    assert.match(text(), /^watchpost_collector_success\{collector="flaky"\} 0$/m);
    fail = false;
    await scheduler.runOnce('flaky');
    await new Promise((r) => setImmediate(r));
    assert.match(text(), /^test_flaky_value 3$/m);
    assert.match(text(), /^watchpost_collector_success\{collector="flaky"\} 1$/m);
  });

  it('a collector that throws synchronously is failed, not fatal', async () => {
    const c = new ScriptedCollector('broken', async () => 1);
    c.collect = () => {
      throw new Error('bug in collect');
    };
    const { scheduler } = setup(c);
    const s = await scheduler.runOnce('broken');
    assert.equal(s.success, false);
    assert.equal(s.lastError, 'bug in collect');
  });

  it('is ready only when every collector has run once, and runs each on its interval', async () => {
    const a = new ScriptedCollector('a', async (n) => n);
    const b = new ScriptedCollector('b', async (n) => n);
    const exposition = new Exposition();
    const scheduler = new Scheduler(
      [
        { collector: a, settings: settings(50, 40) },
        { collector: b, settings: settings(60_000, 40) },
      ],
      { log: silentLogger, exposition },
    );
    assert.equal(scheduler.ready(), false);
    assert.deepEqual(scheduler.pending(), ['a', 'b']);
    scheduler.start();
    const deadline = Date.now() + 5000;
    while (a.calls < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(a.calls >= 4, `a ran ${a.calls} times`);
    assert.equal(b.calls, 1, 'b waits for its own, longer interval');
    assert.equal(scheduler.ready(), true);
    await scheduler.stop();
    const callsAtStop = a.calls;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(a.calls, callsAtStop, 'no run after stop');
    assert.equal(a.closed && b.closed, true);
  });
});

describe('Exposition', () => {
  it('joins parts in insertion order and caches the buffers until a part changes', () => {
    const e = new Exposition();
    e.set('x', '# HELP a A.\n# TYPE a gauge\na 1\n');
    e.set('y', 'b 2');
    const first = e.plain();
    assert.equal(first.toString(), '# HELP a A.\n# TYPE a gauge\na 1\nb 2\n');
    assert.equal(e.plain(), first, 'same Buffer while nothing changed');
    const gz = e.gzip();
    e.set('y', 'b 2');
    assert.equal(e.gzip(), gz, 'setting identical text keeps the cache');
    e.set('x', 'a 3');
    assert.equal(e.plain().toString(), 'a 3\nb 2\n', 'a replaced part keeps its place');
  });

  it('runs a collector again when it asks for a refresh: a burst makes few runs, never overlapping', async () => {
    let running = 0;
    let overlapped = false;
    let release: (() => void) | undefined;
    const pushing = new (class extends ScriptedCollector {
      request: (() => void) | undefined;
      setRefresh(request: () => void): void {
        this.request = request;
      }
    })('pushing', async (call) => {
      running++;
      if (running > 1) overlapped = true;
      // The second run (the first refresh) is held until the test lets it go.
      if (call === 2) await new Promise<void>((r) => (release = r));
      running--;
      return call;
    });
    const { scheduler, text } = setup(pushing);
    scheduler.start(); // run 1, then nothing for the 60 s interval
    await eventually(() =>
      pushing.calls === 1 && /^test_pushing_value 1$/m.test(text()) ? true : undefined,
    );
    for (let i = 0; i < 50; i++) pushing.request!(); // a burst of events: one run
    await eventually(() => (pushing.calls === 2 ? true : undefined));
    for (let i = 0; i < 50; i++) pushing.request!(); // events during that run: one more, after it
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pushing.calls, 2, 'no second run while one is under way');
    release!();
    await eventually(() => (/^test_pushing_value 3$/m.test(text()) ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pushing.calls, 3);
    assert.equal(overlapped, false);
    assert.equal(
      scheduler.statuses()[0]!.failures,
      0,
      'a refresh never reads as "previous run has not finished"',
    );
    await scheduler.stop();
  });

  it('waits REFRESH_COALESCE_MS for more requests, unless the collector says it needs no wait', async (t) => {
    const make = (name: string, coalesceMs: number | undefined) =>
      new (class extends ScriptedCollector {
        request: (() => void) | undefined;
        readonly refreshCoalesceMs = coalesceMs;
        setRefresh(request: () => void): void {
          this.request = request;
        }
      })(name, async (call) => call);
    const waits = make('waits', undefined);
    const atOnce = make('at_once', 0);
    const { scheduler } = setup(waits, atOnce);
    scheduler.start();
    await eventually(() => (waits.calls === 1 && atOnce.calls === 1 ? true : undefined));
    // The runner's timers are mocked from here: only the ticks below move them.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const settle = async () => {
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    };
    waits.request!();
    atOnce.request!();
    t.mock.timers.tick(0);
    await settle();
    assert.equal(atOnce.calls, 2, 'no wait: run at once');
    assert.equal(waits.calls, 1, 'the default waits for more requests');
    t.mock.timers.tick(REFRESH_COALESCE_MS - 1);
    await settle();
    assert.equal(waits.calls, 1);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(waits.calls, 2);
    t.mock.timers.reset();
    await scheduler.stop();
  });
});
