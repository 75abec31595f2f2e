import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  annotationQueries,
  metricNames,
  panelQueries,
  panels,
  variableQueries,
  type DashboardJson,
} from './queries.js';
import { dashboards, render } from './src/index.js';
import { ALERT_THRESHOLDS, DASHBOARDS, DATASOURCE_UID, TAG, dashboardPath, slugify } from './src/lib.js';

const dir = import.meta.dirname;
const root = join(dir, '..');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const rendered = Object.entries(dashboards).map(([name, build]) => ({ name, json: build() }));
const committed = new Map(
  files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as DashboardJson]),
);
const all = [...committed.values()];

/** Series Prometheus makes itself, not the exporter: they are not in docs/metrics.md. */
const BUILT_INS = new Set(['up', 'ALERTS', 'scrape_samples_scraped', 'scrape_duration_seconds']);

interface Rule {
  alert?: string;
  expr: string;
  annotations?: Record<string, string>;
}
const rules: (Rule & { alert: string })[] = readdirSync(join(root, 'alerts'))
  .filter((f) => f.endsWith('.rules.yml'))
  .flatMap((f) =>
    (parse(readFileSync(join(root, 'alerts', f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
      (g) => g.rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined),
    ),
  );

describe('dashboards', () => {
  it('the committed JSON is what npm run gen:dashboards renders from dashboards/src (no drift, no stale file)', () => {
    assert.deepEqual(files.sort(), rendered.map((r) => `${r.name}.json`).sort());
    for (const r of rendered) {
      assert.equal(
        readFileSync(join(dir, `${r.name}.json`), 'utf8'),
        render(r.json),
        `dashboards/${r.name}.json differs from dashboards/src: run npm run gen:dashboards`,
      );
    }
  });

  it('every dashboard has its stable uid, the watchpost tag, and a datasource variable defaulting to the provisioned uid', () => {
    assert.deepEqual(
      all.map((d) => d.uid).sort(),
      Object.values(DASHBOARDS)
        .map((d) => d.uid)
        .sort(),
    );
    for (const d of all) {
      assert.ok(d.uid.length <= 40, `${d.uid}: Grafana uids are at most 40 characters`);
      assert.match(d.uid, /^[a-z0-9-]+$/);
      assert.ok(d.tags?.includes(TAG), `${d.uid}: tag ${TAG}`);
      const ds = d.templating.list.find((v) => v.type === 'datasource');
      assert.equal(ds?.name, 'datasource', d.uid);
      assert.equal(ds?.query, 'prometheus', d.uid);
      assert.equal(ds?.current?.value, DATASOURCE_UID, d.uid);
      assert.ok(d.links && d.links.length > 0, `${d.uid}: links to the other dashboards`);
    }
  });

  it('site, host and instance (and compose_project on Containers) template variables, each with All as .*', () => {
    for (const d of all) {
      const names = d.templating.list.map((v) => v.name);
      // site before host before instance: Grafana refreshes a variable after those it names.
      assert.deepEqual(
        names.filter((n) => ['site', 'host', 'instance'].includes(n)),
        ['site', 'host', 'instance'],
        `${d.uid}: site, host and instance variables`,
      );
      const byName = new Map(d.templating.list.map((v) => [v.name, String(v.query)]));
      assert.match(byName.get('site')!, /^label_values\(up\{job=~"[^"]+"\}, site\)$/, d.uid);
      assert.match(byName.get('host')!, /^label_values\(up\{job=~"[^"]+", site=~"\$site"\}, host\)$/, d.uid);
      assert.ok(byName.get('instance')!.includes('site=~"$site", host=~"$host"'), d.uid);
      for (const v of d.templating.list.filter((x) => x.type === 'query')) {
        assert.equal(v.allValue, '.*', `${d.uid} ${v.name}: All must match empty label values too`);
        assert.equal(v.datasource?.uid, '${datasource}', `${d.uid} ${v.name}`);
      }
      assert.doesNotThrow(() => variableQueries(d));
    }
    const containers = all.find((d) => d.uid === DASHBOARDS.containers.uid)!;
    assert.ok(containers.templating.list.some((v) => v.name === 'compose_project'));
    // Every exporter query is filtered by the instance variable, and on Containers by the
    // compose project: a selection never shows another host's or project's data unfiltered.
    // The notifier runs once per installation, on its own instance, and Overview's alert count
    // and list are the whole installation's: those show the same whatever exporter is selected.
    for (const d of all) {
      for (const q of [...panelQueries(d), ...annotationQueries(d)]) {
        if (/watchpost_notifier_outbox_depth\)$|job="watchpost-notifier"/.test(q.expr)) continue;
        if (
          d.uid === DASHBOARDS.overview.uid &&
          q.where.startsWith('panel') &&
          /^(count\()?ALERTS/.test(q.expr)
        )
          continue;
        if (/watchpost_|ALERTS/.test(q.expr))
          for (const v of ['site', 'host', 'instance'])
            assert.ok(q.expr.includes(`${v}=~"$${v}"`), `${d.uid} ${q.where}: filtered by $${v}`);
        if (d.uid === containers.uid && /watchpost_container_(?!events)/.test(q.expr))
          assert.ok(q.expr.includes('$compose_project'), `${d.uid} ${q.where}`);
      }
    }
  });

  it('several hosts stay apart: aggregations and joins keep site and host, legends name them', () => {
    for (const d of all) {
      for (const p of panels(d)) {
        for (const t of (p.targets ?? []) as { refId?: string; expr?: string; legendFormat?: string }[]) {
          const where = `${d.uid} panel ${p.id} ${t.refId}`;
          // An exporter's instance address is the same at every site (watchpost-exporter:9850):
          // grouping by instance alone would add two sites together.
          for (const m of (t.expr ?? '').matchAll(/\b(by|on)\s*\(([^)]*)\)/g))
            if (/\binstance\b/.test(m[2]!))
              assert.match(m[2]!, /^site, host, instance\b/, `${where}: ${m[0]}`);
          const legend = t.legendFormat ?? '';
          // A legend naming a series by its labels (not an aggregate like "firing") starts with
          // where it comes from, unless the query adds the hosts together.
          const perHost = !/^\s*(sum|count|max|min|avg) by \((?!site)|^\s*(sum|count|max|min|avg)\(/.test(
            t.expr ?? '',
          );
          if (legend.includes('{{') && perHost && p.type !== 'table')
            assert.ok(legend.startsWith('{{site}} {{host}} '), `${where}: legend "${legend}"`);
        }
      }
    }
  });

  it('every panel has a unit, a description, the datasource variable and an id unique in its dashboard', () => {
    for (const d of all) {
      const ids = panels(d).map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${d.uid}: duplicate panel ids ${ids.join(',')}`);
      for (const p of panels(d).filter((x) => x.type !== 'row')) {
        const where = `${d.uid} panel ${p.id} (${p.title})`;
        assert.ok(p.fieldConfig?.defaults?.unit, `${where}: unit`);
        assert.ok(p.description && p.description.length > 20, `${where}: description`);
        assert.equal(p.datasource?.uid, '${datasource}', `${where}: datasource`);
        assert.ok((p.targets ?? []).length > 0, `${where}: queries`);
        for (const t of p.targets ?? [])
          assert.equal(t.datasource?.uid, '${datasource}', `${where} ${t.refId}`);
        const refs = (p.targets ?? []).map((t) => t.refId);
        assert.equal(new Set(refs).size, refs.length, `${where}: refIds`);
      }
    }
  });

  it('every metric a dashboard uses is documented in docs/metrics.md (or is a Prometheus built-in)', () => {
    const documented = readFileSync(join(root, 'docs', 'metrics.md'), 'utf8');
    const queries = all.flatMap((d) => [...panelQueries(d), ...annotationQueries(d)]);
    const used = new Set([
      ...queries.flatMap((q) => metricNames(q.expr)),
      ...all.flatMap((d) => variableQueries(d).flatMap((v) => metricNames(v.selector))),
    ]);
    assert.ok(used.size > 40, `only ${used.size} metrics`);
    const missing = [...used].filter((m) => {
      if (BUILT_INS.has(m)) return false;
      const base = m.replace(/_(bucket|sum|count)$/, '');
      return !documented.includes(`| \`${m}\` |`) && !documented.includes(`| \`${base}\` |`);
    });
    assert.deepEqual(missing, []);
  });

  it('every alert links to a dashboard panel that shows what the alert measures', () => {
    const byUid = new Map(all.map((d) => [d.uid, d]));
    // Alerts whose expression has no exporter metric to share with a panel.
    const reasons: Record<string, string> = {
      Watchdog: 'vector(1): the panel shows what it feeds, the time since the last heartbeat',
    };
    for (const r of rules) {
      const url = r.annotations?.dashboard_url ?? '';
      const m = /^d\/([a-z0-9-]+)\/([a-z0-9-]+)\?viewPanel=(\d+)$/.exec(url);
      assert.ok(m, `${r.alert}: dashboard_url ${url}`);
      const d = byUid.get(m[1]!);
      assert.ok(d, `${r.alert}: no dashboard ${m[1]}`);
      assert.equal(m[2], slugify(d.title), `${r.alert}: slug of "${d.title}"`);
      const panel = panels(d).find((p) => p.id === Number(m[3]));
      assert.ok(panel && panel.type !== 'row', `${r.alert}: no panel ${m[3]} on ${d.uid}`);
      if (reasons[r.alert]) continue;
      const ruleMetrics = new Set(metricNames(r.expr));
      const panelMetrics = (panel.targets ?? []).flatMap((t) => metricNames(t.expr ?? ''));
      assert.ok(
        panelMetrics.some((x) => ruleMetrics.has(x)),
        `${r.alert}: panel "${panel.title}" shows none of ${[...ruleMetrics].join(', ')}`,
      );
    }
  });

  it("the panels' static thresholds are the numbers the alert rules use", () => {
    for (const [alert, value] of Object.entries(ALERT_THRESHOLDS)) {
      // "DiskSpaceLow (critical)": one of the rules named DiskSpaceLow.
      const name = alert.replace(/ \(.*\)$/, '');
      const exprs = rules.filter((r) => r.alert === name).map((r) => r.expr);
      assert.ok(exprs.length > 0, `no alert ${name}`);
      // TLS rules write days as N * 86400.
      const numbers = exprs.flatMap((e) => (e.match(/\d+(\.\d+)?/g) ?? []).map(Number));
      assert.ok(
        numbers.includes(value),
        `${alert}: ${value} is not in ${exprs.join(' | ')} (update ALERT_THRESHOLDS)`,
      );
    }
  });

  it('each Overview stat links to an existing panel of its detail dashboard', () => {
    const overview = all.find((d) => d.uid === DASHBOARDS.overview.uid)!;
    const byUid = new Map(all.map((d) => [d.uid, d]));
    const stats = panels(overview).filter((p) => p.type === 'stat');
    assert.ok(stats.length >= 9);
    for (const p of stats) {
      const links = p.fieldConfig?.defaults?.links ?? [];
      if (p.id === 1) continue; // firing alerts: the table below lists them
      assert.ok(links.length > 0, `overview stat "${p.title}" links to its detail dashboard`);
      for (const l of links) {
        const m = /^\/d\/([a-z0-9-]+)\/([a-z0-9-]+)\?.*viewPanel=(\d+)/.exec(l.url ?? '');
        assert.ok(m, l.url);
        const target = byUid.get(m[1]!);
        assert.ok(target, l.url);
        assert.ok(
          panels(target).some((x) => x.id === Number(m[3])),
          `${l.url}: panel ${m[3]}`,
        );
      }
    }
    assert.equal(dashboardPath('overview'), 'd/watchpost-overview/watchpost-overview');
  });
  it('docs/dashboards.md lists every panel of every dashboard, by id and title', () => {
    const doc = readFileSync(join(root, 'docs', 'dashboards.md'), 'utf8');
    for (const d of all) {
      const section = doc.split(`### ${d.title}\n`)[1]?.split('\n### ')[0] ?? '';
      assert.ok(section, `docs/dashboards.md has a "### ${d.title}" section`);
      for (const p of panels(d).filter((x) => x.type !== 'row')) {
        assert.ok(section.includes(`| ${p.id} | ${p.title} |`), `${d.title}: | ${p.id} | ${p.title} |`);
      }
    }
  });
});

describe('Grafana provisioning files', () => {
  // Keys of Grafana's provisioning format, apiVersion 1, from its documentation
  // (administration/provisioning) and pkg/services/provisioning: an unknown key is ignored by
  // Grafana without a word, so a typo here would silently drop a setting.
  const DATASOURCE_KEYS = new Set([
    'name',
    'type',
    'uid',
    'orgId',
    'access',
    'url',
    'user',
    'database',
    'basicAuth',
    'basicAuthUser',
    'withCredentials',
    'isDefault',
    'jsonData',
    'secureJsonData',
    'version',
    'editable',
    'correlations',
  ]);
  const PROVIDER_KEYS = new Set([
    'name',
    'orgId',
    'folder',
    'folderUid',
    'type',
    'disableDeletion',
    'updateIntervalSeconds',
    'allowUiUpdates',
    'options',
  ]);
  const PROVIDER_OPTION_KEYS = new Set(['path', 'foldersFromFilesStructure']);
  const grafana = join(root, 'provisioning', 'grafana');

  function load(path: string): Record<string, unknown> {
    return parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  }
  function unknownKeys(obj: Record<string, unknown>, known: Set<string>): string[] {
    return Object.keys(obj).filter((k) => !known.has(k));
  }

  it('datasources/prometheus.yml: one Prometheus datasource with the uid the dashboards use, proxied', () => {
    const doc = load(join(grafana, 'datasources', 'prometheus.yml'));
    assert.deepEqual(
      unknownKeys(doc, new Set(['apiVersion', 'datasources', 'deleteDatasources', 'prune'])),
      [],
    );
    assert.equal(doc.apiVersion, 1);
    const list = doc.datasources as Record<string, unknown>[];
    assert.ok(Array.isArray(list) && list.length >= 1);
    const prom = list.find((d) => d.type === 'prometheus')!;
    assert.ok(prom, 'a prometheus datasource');
    for (const ds of list) {
      assert.deepEqual(unknownKeys(ds, DATASOURCE_KEYS), [], `datasource ${String(ds.name)}`);
      assert.equal(typeof ds.name, 'string');
      assert.match(String(ds.uid), /^[a-zA-Z0-9_-]{1,40}$/);
      assert.ok(ds.access === undefined || ['proxy', 'direct'].includes(String(ds.access)));
    }
    assert.equal(prom.uid, DATASOURCE_UID);
    assert.equal(prom.access, 'proxy', 'the browser never talks to Prometheus');
    assert.match(String(prom.url), /^http:\/\/[a-z0-9-]+:9090$/);
    assert.equal(prom.isDefault, true);
    assert.equal(list.filter((d) => d.isDefault === true).length, 1, 'one default datasource per org');
    assert.equal(prom.secureJsonData, undefined, 'no secret in the file');
    const jsonData = prom.jsonData as Record<string, unknown>;
    assert.match(String(jsonData.timeInterval), /^\d+s$/);
    // $__rate_interval is at least four scrape intervals when timeInterval is the scrape interval.
    const scrape = /scrape_interval: (\d+s)/.exec(
      readFileSync(join(root, 'provisioning', 'prometheus', 'prometheus.yml'), 'utf8'),
    )?.[1];
    assert.equal(jsonData.timeInterval, scrape);
  });

  it('dashboards/watchpost.yml: a file provider reading /etc/grafana/dashboards, dashboards not editable in the UI', () => {
    const doc = load(join(grafana, 'dashboards', 'watchpost.yml'));
    assert.deepEqual(unknownKeys(doc, new Set(['apiVersion', 'providers'])), []);
    assert.equal(doc.apiVersion, 1);
    const providers = doc.providers as Record<string, unknown>[];
    assert.equal(providers.length, 1);
    const p = providers[0]!;
    assert.deepEqual(unknownKeys(p, PROVIDER_KEYS), []);
    assert.equal(typeof p.name, 'string');
    assert.equal(p.type, 'file');
    assert.equal(p.orgId, 1);
    assert.ok(typeof p.folder === 'string' && p.folder.length > 0);
    assert.match(String(p.folderUid), /^[a-zA-Z0-9_-]{1,40}$/);
    assert.equal(p.allowUiUpdates, false);
    assert.equal(p.disableDeletion, true);
    assert.ok(Number.isInteger(p.updateIntervalSeconds) && (p.updateIntervalSeconds as number) >= 10);
    const options = p.options as Record<string, unknown>;
    assert.deepEqual(unknownKeys(options, PROVIDER_OPTION_KEYS), []);
    assert.equal(options.path, '/etc/grafana/dashboards');
  });
});
