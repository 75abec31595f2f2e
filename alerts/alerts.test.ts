import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { requireBinary } from '../internal/testing/helpers.js';

const dir = import.meta.dirname;
const root = join(dir, '..');
const ruleFiles = readdirSync(dir).filter((f) => f.endsWith('.rules.yml'));
const testFiles = readdirSync(join(dir, 'tests')).filter((f) => f.endsWith('.test.yml'));

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
}

const alerts: (Rule & { alert: string; file: string })[] = ruleFiles.flatMap((file) =>
  (parse(readFileSync(join(dir, file), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) =>
    g.rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined).map((r) => ({ ...r, file })),
  ),
);
/** A Prometheus duration (`30s`, `5m`, `1h30m`) in seconds. */
function seconds(d: string): number {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  const parts = [...d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  assert.equal(parts.map((p) => p[0]).join(''), d, `a duration: ${d}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
}

const cases = new Map<string, AlertCase[]>();
for (const file of testFiles) {
  const t = parse(readFileSync(join(dir, 'tests', file), 'utf8')) as {
    tests: { alert_rule_test?: AlertCase[] }[];
  };
  for (const c of t.tests.flatMap((x) => x.alert_rule_test ?? [])) {
    cases.set(c.alertname, [...(cases.get(c.alertname) ?? []), { ...c, file } as AlertCase]);
  }
}

describe('alert rules', () => {
  it('promtool check rules accepts every rules file', (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const r = spawnSync(promtool, ['check', 'rules', ...ruleFiles], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('promtool test rules passes every test file', (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const r = spawnSync(promtool, ['test', 'rules', ...testFiles.map((f) => join('tests', f))], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('every alert is named in CamelCase, has a severity and the annotations on-call needs, a dashboard link included', () => {
    assert.ok(alerts.length >= 9);
    for (const a of alerts) {
      assert.match(a.alert, /^[A-Z][A-Za-z0-9]+$/, a.alert);
      const severity = a.labels?.severity;
      assert.ok(
        ['critical', 'warning', 'info'].includes(severity ?? '') ||
          (a.alert === 'Watchdog' && severity === 'none'),
        `${a.alert}: severity ${severity}`,
      );
      assert.ok(a.annotations?.summary, `${a.alert}: summary`);
      assert.ok(a.annotations?.description, `${a.alert}: description`);
      assert.equal(a.annotations?.runbook_url, `docs/runbooks/${a.alert}.md`, `${a.alert}: runbook_url`);
      // Relative, resolved by the notifier against notifier.dashboard_base_url; the dashboards
      // test checks that the dashboard and the panel exist.
      assert.match(
        a.annotations?.dashboard_url ?? '',
        /^d\/[a-z0-9-]+\/[a-z0-9-]+\?viewPanel=\d+$/,
        `${a.alert}: dashboard_url d/<uid>/<slug>?viewPanel=<panel id>`,
      );
    }
  });

  it('every alert is tested silent before its for: and firing after, with exact annotations', () => {
    for (const a of alerts) {
      const mine = cases.get(a.alert) ?? [];
      const firing = mine.filter((c) => c.exp_alerts.length > 0);
      assert.ok(firing.length > 0, `${a.alert}: no case where it fires`);
      for (const c of firing) {
        for (const e of c.exp_alerts) {
          assert.deepEqual(
            Object.keys(e.exp_annotations ?? {}).sort(),
            Object.keys(a.annotations ?? {}).sort(),
            `${a.alert}: every annotation is asserted`,
          );
        }
      }
      if (a.for) {
        const silent = mine.filter(
          (c) => c.exp_alerts.length === 0 && (c as { file?: string }).file !== 'healthy.test.yml',
        );
        assert.ok(silent.length > 0, `${a.alert}: no case just before its for: ${a.for}`);
      }
    }
  });

  it('every alert carries its for: and keep_firing_for: as annotations, so a message can say when the problem began', () => {
    for (const a of alerts) {
      assert.equal(a.annotations?.for, a.for, `${a.alert}: annotation for equals the rule's for:`);
      assert.equal(
        a.annotations?.keep_firing_for,
        a.keep_firing_for,
        `${a.alert}: annotation keep_firing_for equals the rule's keep_firing_for:`,
      );
    }
  });

  it("an alert on the exporter's metrics outlives a dead exporter until WatchpostExporterDown mutes it", () => {
    // When the exporter dies its series go stale at the next scrape. WatchpostExporterDown needs
    // its for: plus a scrape and an evaluation (15s each) to fire; until then nothing may resolve.
    const down = alerts.find((a) => a.alert === 'WatchpostExporterDown');
    assert.ok(down?.for);
    const needed = seconds(down.for) + 2 * 15 + 60;
    const fed = alerts.filter((a) => /\bwatchpost_(?!notifier_)/.test(a.expr));
    assert.ok(fed.length > 20);
    for (const a of fed) {
      // A range function over the raw series holds its value too (stale markers are not samples).
      const held = [...a.expr.matchAll(/_over_time\([^)]*\[(\w+)\]\)/g)].map((m) => seconds(m[1]!));
      const hold = Math.max(a.keep_firing_for ? seconds(a.keep_firing_for) : 0, ...held);
      assert.ok(hold >= needed, `${a.alert}: held ${hold}s after its series go stale, needs ${needed}s`);
    }
  });

  it('on healthy input nothing fires but Watchdog: every other alert is listed in healthy.test.yml', () => {
    const healthy = parse(readFileSync(join(dir, 'tests', 'healthy.test.yml'), 'utf8')) as {
      tests: { alert_rule_test: AlertCase[] }[];
    };
    const quiet = new Set(
      healthy.tests.flatMap((t) =>
        t.alert_rule_test.filter((c) => c.exp_alerts.length === 0).map((c) => c.alertname),
      ),
    );
    const missing = alerts.map((a) => a.alert).filter((n) => n !== 'Watchdog' && !quiet.has(n));
    assert.deepEqual(missing, []);
  });

  it('every alert has a runbook and every runbook an alert', () => {
    const runbooks = readdirSync(join(root, 'docs', 'runbooks'))
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .map((f) => f.replace(/\.md$/, ''))
      .sort();
    assert.deepEqual(runbooks, [...new Set(alerts.map((a) => a.alert))].sort());
    for (const name of runbooks) {
      const text = readFileSync(join(root, 'docs', 'runbooks', `${name}.md`), 'utf8');
      for (const heading of ['## Meaning', '## Confirm', '## Causes', '## Fix', '## Escalate']) {
        assert.ok(text.includes(heading), `${name}.md has a "${heading}" section`);
      }
    }
  });

  it('every metric a rule uses is documented in docs/metrics.md (a renamed metric cannot silently break an alert)', () => {
    const documented = readFileSync(join(root, 'docs', 'metrics.md'), 'utf8');
    const used = new Set(
      alerts.flatMap((a) => [...a.expr.matchAll(/\bwatchpost_[a-z0-9_]+/g)].map((m) => m[0])),
    );
    assert.ok(used.size > 5);
    const missing = [...used].filter((m) => !documented.includes(`| \`${m}\` |`));
    assert.deepEqual(missing, []);
  });
});
