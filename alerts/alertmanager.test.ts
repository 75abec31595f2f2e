import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  startAlertmanager,
  startReceiver,
  type Received,
  type RunningAlertmanager,
} from '../internal/testing/alertmanager.js';
import { eventually, requireBinary, skipWithout } from '../internal/testing/helpers.js';

const CONFIG = join(import.meta.dirname, 'alertmanager.yml');
describe('alertmanager.yml', () => {
  it('amtool check-config accepts it', (t) => {
    const amtool = requireBinary(t, 'amtool');
    if (!amtool) return;
    const r = spawnSync(amtool, ['check-config', CONFIG], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('groups by every label that tells two alerts of one rule apart, and inhibits on the same ones', () => {
    const config = parse(readFileSync(CONFIG, 'utf8')) as {
      route: { group_by: string[] };
      inhibit_rules: { source_matchers: string[]; equal: string[] }[];
    };
    // Labels that describe the broken thing rather than name it: two alerts never differ in them alone.
    const attributes = new Set(['alertname', 'severity', 'job', 'image', 'fstype', 'kind', 'status']);
    const testsDir = join(import.meta.dirname, 'tests');
    const identity = new Set<string>();
    for (const file of readdirSync(testsDir).filter((f) => f.endsWith('.test.yml'))) {
      const t = parse(readFileSync(join(testsDir, file), 'utf8')) as {
        tests: { alert_rule_test?: { exp_alerts: { exp_labels?: Record<string, string> }[] }[] }[];
      };
      for (const c of t.tests.flatMap((x) => x.alert_rule_test ?? []))
        for (const e of c.exp_alerts)
          for (const k of Object.keys(e.exp_labels ?? {})) if (!attributes.has(k)) identity.add(k);
    }
    for (const label of ['group', 'source', 'client', 'stream', 'mountpoint', 'device', 'chip', 'sensor'])
      assert.ok(identity.has(label), label);
    const missing = [...identity].filter((l) => !config.route.group_by.includes(l));
    assert.deepEqual(missing, [], 'labels that alerts carry but group_by lacks');
    const severity = config.inhibit_rules.find((r) => r.source_matchers.includes('severity="critical"'));
    assert.deepEqual(
      [...identity].filter((l) => !severity?.equal.includes(l)),
      [],
      'labels the critical-mutes-warning inhibition does not compare',
    );
  });

  it("mutes every alert on the exporter's metrics while the exporter is down, and only those", () => {
    const config = parse(readFileSync(CONFIG, 'utf8')) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[] }[];
    };
    const rule = config.inhibit_rules.find((r) =>
      r.source_matchers.some((m) => m.includes('WatchpostExporterDown')),
    );
    const matcher = /^alertname!~"(.*)"$/.exec(rule?.target_matchers[0] ?? '');
    assert.ok(matcher && rule?.target_matchers.length === 1, 'one negative alertname matcher');
    const excluded = new RegExp(`^(?:${matcher[1]})$`); // Alertmanager anchors its regular expressions
    const dir = import.meta.dirname;
    const rules = readdirSync(dir)
      .filter((f) => f.endsWith('.rules.yml'))
      .flatMap((f) =>
        (
          parse(readFileSync(join(dir, f), 'utf8')) as {
            groups: { rules: { alert?: string; expr: string }[] }[];
          }
        ).groups
          .flatMap((g) => g.rules)
          .filter((r) => r.alert !== undefined),
      );
    for (const r of rules) {
      const onExporter = /\bwatchpost_(?!notifier_)/.test(r.expr);
      assert.equal(!excluded.test(r.alert!), onExporter, `${r.alert}: muted by WatchpostExporterDown`);
    }
  });

  it("mutes every alert on a collector's metrics while that collector fails, and only those", () => {
    const config = parse(readFileSync(CONFIG, 'utf8')) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
    };
    // Which collector exports which metric: the sections of docs/metrics.md (kept equal to what
    // each collector registers by its drift test).
    const owner = new Map<string, string>();
    let collector: string | undefined;
    for (const line of readFileSync(join(import.meta.dirname, '..', 'docs', 'metrics.md'), 'utf8').split(
      '\n',
    )) {
      if (line.startsWith('## ')) collector = /\(`collectors\.([a-z]+)/.exec(line)?.[1];
      else if (collector !== undefined)
        for (const m of line.matchAll(/`(watchpost_[a-z_]+)/g))
          if (!owner.has(m[1]!)) owner.set(m[1]!, collector);
    }
    const muters = new Map<string, RegExp>();
    for (const r of config.inhibit_rules) {
      if (!r.source_matchers.includes('alertname="WatchpostCollectorFailing"')) continue;
      const c = /^collector="([a-z]+)"$/.exec(
        r.source_matchers.find((m) => m.startsWith('collector=')) ?? '',
      );
      const target = /^alertname=~"(.*)"$/.exec(r.target_matchers[0] ?? '');
      assert.ok(c && target && r.target_matchers.length === 1, JSON.stringify(r));
      assert.deepEqual(r.equal, ['site', 'host', 'instance']);
      muters.set(c[1]!, new RegExp(`^(?:${target[1]})$`));
    }
    const dir = import.meta.dirname;
    const rules = readdirSync(dir)
      .filter((f) => f.endsWith('.rules.yml'))
      .flatMap((f) =>
        (
          parse(readFileSync(join(dir, f), 'utf8')) as {
            groups: { rules: { alert?: string; expr: string }[] }[];
          }
        ).groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined)),
      );
    let checked = 0;
    for (const r of rules) {
      const used = new Set(
        [...r.expr.matchAll(/\b(watchpost_[a-z_]+)/g)].map((m) => owner.get(m[1]!)).filter((c) => c),
      );
      for (const [c, muted] of muters) {
        assert.equal(muted.test(r.alert!), used.has(c), `${r.alert}: muted while collector ${c} fails`);
      }
      for (const c of used) assert.ok(muters.has(c!), `${r.alert}: collector ${c} has an inhibition`);
      checked += used.size;
    }
    assert.ok(checked >= 25, `${checked} rules checked`);
  });

  it('routes Watchdog to the heartbeat only, and every severity to the notifier', (t) => {
    const amtool = requireBinary(t, 'amtool');
    if (!amtool) return;
    const route = (...labels: string[]) =>
      spawnSync(amtool, ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels], {
        encoding: 'utf8',
      }).stdout.trim();
    assert.equal(route('alertname=Watchdog', 'severity=none'), 'watchpost-heartbeat');
    assert.equal(route('alertname=DiskSpaceLow', 'severity=warning'), 'watchpost-notifier');
    assert.equal(route('alertname=WatchpostExporterDown', 'severity=critical'), 'watchpost-notifier');
    assert.equal(route('alertname=Something', 'severity=info'), 'watchpost-notifier');
  });
});

describe('alertmanager.yml in a real Alertmanager', { skip: skipWithout('prometheus-alertmanager') }, () => {
  let am: RunningAlertmanager | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  let amUrl = '';
  let received: Received[] = [];
  const token = 'test-notifier-token-5b1f';
  let skipped = false;

  before(async (t) => {
    const binary = requireBinary(t, 'prometheus-alertmanager');
    if (!binary) {
      skipped = true;
      return;
    }
    receiver = await startReceiver();
    received = receiver.received;
    am = await startAlertmanager(binary, receiver.url, token);
    amUrl = am.url;
  });

  after(async () => {
    await am?.stop();
    await receiver?.close();
  });

  async function post(alerts: { labels: Record<string, string>; endsAt?: string }[]) {
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((a) => ({ annotations: { summary: 'test' }, ...a }))),
    });
    assert.equal(res.status, 200, await res.text());
  }

  it('delivers with the bearer token, sends Watchdog to /heartbeat, and sends resolved notifications', async () => {
    if (skipped) return;
    await post([
      { labels: { alertname: 'Watchdog', severity: 'none' } },
      { labels: { alertname: 'BackupTooOld', severity: 'critical', name: 'pg', instance: 'h2:9850' } },
    ]);
    const heartbeat = await eventually(
      () => received.find((r) => r.path === '/heartbeat'),
      20_000,
      'heartbeat',
    );
    assert.equal(heartbeat.auth, `Bearer ${token}`);
    const alert = await eventually(
      () =>
        received.find(
          (r) => r.path === '/alerts' && r.body.alerts.some((a) => a.labels.alertname === 'BackupTooOld'),
        ),
      20_000,
      'BackupTooOld',
    );
    assert.equal(alert.auth, `Bearer ${token}`);
    assert.ok(
      !received.some(
        (r) => r.path === '/alerts' && r.body.alerts.some((a) => a.labels.alertname === 'Watchdog'),
      ),
    );

    await post([
      {
        labels: { alertname: 'BackupTooOld', severity: 'critical', name: 'pg', instance: 'h2:9850' },
        endsAt: new Date().toISOString(),
      },
    ]);
    await eventually(
      () => received.find((r) => r.path === '/alerts' && r.body.status === 'resolved'),
      20_000,
      'resolved notification',
    );
  });

  it('an exporter that is down mutes the disk alert on the same instance, not on another', async () => {
    if (skipped) return;
    await post([
      {
        labels: {
          alertname: 'WatchpostExporterDown',
          severity: 'critical',
          instance: 'h1:9850',
          job: 'watchpost',
        },
      },
      { labels: { alertname: 'DiskSpaceLow', severity: 'warning', instance: 'h1:9850', mountpoint: '/srv' } },
      { labels: { alertname: 'DiskSpaceLow', severity: 'warning', instance: 'h3:9850', mountpoint: '/srv' } },
    ]);
    const alerts = await eventually(
      async () => {
        const list = (await (
          await fetch(`${amUrl}/api/v2/alerts?filter=alertname%3D%22DiskSpaceLow%22`)
        ).json()) as {
          labels: Record<string, string>;
          status: { state: string; inhibitedBy: string[] };
        }[];
        return list.length === 2 && list.some((a) => a.status.state === 'suppressed') ? list : undefined;
      },
      20_000,
      'inhibition',
    );
    const byInstance = Object.fromEntries(alerts.map((a) => [a.labels.instance, a.status]));
    assert.equal(byInstance['h1:9850']?.state, 'suppressed');
    assert.equal(byInstance['h1:9850']?.inhibitedBy.length, 1);
    assert.equal(byInstance['h3:9850']?.state, 'active');
  });

  it("an exporter down at one site mutes that host's alerts, not another site's on the same instance", async () => {
    if (skipped) return;
    // Every site's exporter is watchpost-exporter:9850 (the site overlay's service name).
    const instance = 'watchpost-exporter:9850';
    await post([
      {
        labels: {
          alertname: 'WatchpostExporterDown',
          severity: 'critical',
          site: 'rennes',
          host: 'rec-1',
          instance,
          job: 'watchpost',
        },
      },
      {
        labels: {
          alertname: 'WatchpostCollectorFailing',
          severity: 'warning',
          site: 'rennes',
          host: 'rec-1',
          instance,
          collector: 'dependencies',
        },
      },
      ...['rennes', 'brest'].map((site) => ({
        labels: {
          alertname: 'DependencyDown',
          severity: 'critical',
          site,
          host: 'rec-1',
          instance,
          name: 'db',
        },
      })),
      {
        labels: {
          alertname: 'DependencyDown',
          severity: 'critical',
          site: 'rennes',
          host: 'rec-2',
          instance,
          name: 'db',
        },
      },
    ]);
    const alerts = await eventually(
      async () => {
        const list = (await (
          await fetch(
            `${amUrl}/api/v2/alerts?filter=alertname%3D%22DependencyDown%22&filter=site%3D~%22rennes%7Cbrest%22`,
          )
        ).json()) as {
          labels: Record<string, string>;
          status: { state: string; inhibitedBy: string[] };
        }[];
        return list.length === 3 && list.some((a) => a.status.state === 'suppressed') ? list : undefined;
      },
      20_000,
      'inhibition',
    );
    const state = (site: string, host: string) =>
      alerts.find((a) => a.labels.site === site && a.labels.host === host)?.status;
    assert.equal(state('rennes', 'rec-1')?.state, 'suppressed');
    assert.equal(state('rennes', 'rec-1')?.inhibitedBy.length, 1);
    assert.equal(state('rennes', 'rec-2')?.state, 'active', 'another host of the same site');
    assert.equal(state('brest', 'rec-1')?.state, 'active', 'another site, same instance and host name');
  });

  it('an unreachable site mutes every alert of that site, exporter down included, and none of another site', async () => {
    if (skipped) return;
    await post([
      { labels: { alertname: 'SiteUnreachable', severity: 'critical', site: 'lyon' } },
      {
        labels: {
          alertname: 'WatchpostExporterDown',
          severity: 'critical',
          site: 'lyon',
          host: 'rec-1',
          instance: 'l1:9850',
        },
      },
      {
        labels: {
          alertname: 'ContainerDown',
          severity: 'critical',
          site: 'lyon',
          host: 'rec-2',
          name: 'mosaic',
        },
      },
      {
        labels: {
          alertname: 'ContainerDown',
          severity: 'critical',
          site: 'paris',
          host: 'db',
          name: 'mosaic',
        },
      },
    ]);
    const alerts = await eventually(
      async () => {
        const list = (await (
          await fetch(`${amUrl}/api/v2/alerts?filter=site%3D~%22lyon%7Cparis%22`)
        ).json()) as {
          labels: Record<string, string>;
          status: { state: string };
        }[];
        return list.length === 4 && list.filter((a) => a.status.state === 'suppressed').length === 2
          ? list
          : undefined;
      },
      20_000,
      'site inhibition',
    );
    const state = (name: string, site: string) =>
      alerts.find((a) => a.labels.alertname === name && a.labels.site === site)?.status.state;
    assert.equal(state('SiteUnreachable', 'lyon'), 'active');
    assert.equal(state('WatchpostExporterDown', 'lyon'), 'suppressed');
    assert.equal(state('ContainerDown', 'lyon'), 'suppressed');
    assert.equal(state('ContainerDown', 'paris'), 'active');
  });

  it('the critical disk tier mutes the warning of the same mount, not of another mount', async () => {
    if (skipped) return;
    const disk = (severity: string, mountpoint: string) => ({
      labels: { alertname: 'DiskSpaceLow', severity, instance: 'h4:9850', job: 'watchpost', mountpoint },
    });
    await post([
      disk('critical', '/srv/recordings'),
      disk('warning', '/srv/recordings'),
      disk('warning', '/var/lib/postgresql'),
    ]);
    const alerts = await eventually(
      async () => {
        const list = (await (
          await fetch(`${amUrl}/api/v2/alerts?filter=instance%3D%22h4%3A9850%22`)
        ).json()) as {
          labels: Record<string, string>;
          status: { state: string };
        }[];
        return list.length === 3 && list.some((a) => a.status.state === 'suppressed') ? list : undefined;
      },
      20_000,
      'inhibition of the warning tier',
    );
    const state = Object.fromEntries(
      alerts.map((a) => [`${a.labels.severity} ${a.labels.mountpoint}`, a.status.state]),
    );
    assert.deepEqual(state, {
      'critical /srv/recordings': 'active',
      'warning /srv/recordings': 'suppressed',
      'warning /var/lib/postgresql': 'active',
    });
  });

  it('two FFmpeg groups, two log sources and two clients with the same alert are two messages each', async () => {
    if (skipped) return;
    const kinds: Record<string, string>[] = [
      { alertname: 'FfmpegProcessesMissing', severity: 'critical', group: 'mosaic' },
      { alertname: 'FfmpegProcessesMissing', severity: 'critical', group: 'transcode' },
      { alertname: 'HttpErrorRatioHigh', severity: 'critical', source: 'nginx' },
      { alertname: 'HttpErrorRatioHigh', severity: 'critical', source: 'crm' },
      { alertname: 'BruteForceFromClient', severity: 'warning', source: 'sshd', client: '203.0.113.7' },
      { alertname: 'BruteForceFromClient', severity: 'warning', source: 'sshd', client: '198.51.100.23' },
    ];
    const alerts = kinds.map((l) => ({ ...l, instance: 'h5:9850', job: 'watchpost' }));
    await post(alerts.map((labels) => ({ labels })));
    const mine = () =>
      received.filter(
        (r) => r.path === '/alerts' && r.body.alerts.some((a) => a.labels.instance === 'h5:9850'),
      );
    await eventually(
      () => (mine().length >= alerts.length ? true : undefined),
      30_000,
      'one notification per alert',
    );
    for (const r of mine())
      assert.equal(r.body.alerts.length, 1, JSON.stringify(r.body.alerts.map((a) => a.labels)));
    const seen = new Set(mine().map((r) => JSON.stringify(r.body.alerts[0]?.labels)));
    assert.equal(seen.size, alerts.length);
  });
});

describe('alertmanager.yml heartbeat timing, with its shipped intervals', () => {
  it('sends the Watchdog to the heartbeat once a minute, not once every two', async (t) => {
    const binary = requireBinary(t, 'prometheus-alertmanager');
    if (!binary) return;
    const receiver = await startReceiver();
    const am = await startAlertmanager(binary, receiver.url, 'heartbeat-token-91c2', {
      shippedTimings: true,
    });
    try {
      // As Prometheus does, the Watchdog stays firing (endsAt far ahead); the route alone decides
      // how often it is sent. Three heartbeats give two gaps: 60 s each here, 120 s (or 60 then
      // 120) with repeat_interval equal to group_interval.
      const res = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: { alertname: 'Watchdog', severity: 'none' },
            endsAt: new Date(Date.now() + 3_600_000).toISOString(),
          },
        ]),
      });
      assert.equal(res.status, 200);
      const beats = await eventually(
        () => {
          const b = receiver.received.filter((r) => r.path === '/heartbeat');
          return b.length >= 3 ? b : undefined;
        },
        250_000,
        'three heartbeats',
      );
      const gaps = beats.slice(1, 3).map((b, i) => (b.at - beats[i]!.at) / 1000);
      // Alertmanager's flush timer is exact to well under a second; 90 s splits 60 from 120.
      for (const gap of gaps) assert.ok(gap < 90, `heartbeat gaps ${gaps.join(', ')} s`);
    } finally {
      await am.stop();
      await receiver.close();
    }
  });
});
