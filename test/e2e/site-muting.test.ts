import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startAlertmanager, startReceiver } from '../../internal/testing/alertmanager.js';
import {
  eventually,
  freePort,
  requireBinary,
  skipWithout,
  startCli,
  type RunningCli,
} from '../../internal/testing/helpers.js';
import { startCentralPrometheus } from './central.js';

/**
 * Per-target muting of a pushed site, with the real programs on loopback: two sites, each an
 * exporter scraped by a Prometheus agent that pushes with remote_write to a central Prometheus
 * running the shipped central config and every shipped rule unchanged (only the intervals are
 * 1 s), which sends to a real Alertmanager running the shipped alertmanager.yml (its waits
 * shortened to none, so nothing but the rules' timing keeps a per-target alert from going out).
 * Both sites have a dependency down (DependencyDown fires at both). Then paris's exporter goes
 * away while its agent keeps pushing: the agent reports up == 0, so WatchpostExporterDown would
 * fire for paris's host, and SiteUnreachable fires for paris. What must happen: SiteUnreachable is
 * delivered; paris's WatchpostExporterDown and its DependencyDown (held by keep_firing_for) reach
 * Alertmanager and stay inhibited, never delivered; lyon's DependencyDown, on the same instance
 * name (every site's exporter is watchpost-exporter:9850), stays unmuted.
 */

const INSTANCE = 'watchpost-exporter:9850';

interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
}

describe(
  'a pushed site whose exporter is gone: SiteUnreachable pages, its per-target alerts are muted, another site is not',
  { skip: skipWithout('prometheus', 'prometheus-alertmanager') },
  () => {
    it('mutes paris and only paris', async (t) => {
      const prom = requireBinary(t, 'prometheus');
      const amBin = prom && requireBinary(t, 'prometheus-alertmanager');
      if (!prom || !amBin) return;

      const dir = mkdtempSync(join(tmpdir(), 'watchpost-site-muting-'));
      const stops: (() => Promise<unknown>)[] = [];
      try {
        const receiver = await startReceiver();
        stops.push(() => receiver.close());
        const am = await startAlertmanager(amBin, receiver.url, 'site-muting-notifier-token');
        stops.push(() => am.stop());
        const targetsDir = join(dir, 'targets');
        mkdirSync(targetsDir);
        const central = await startCentralPrometheus(prom, {
          targetsDir,
          caFile: join(dir, 'no-pulled-hosts-ca.pem'),
          metricsToken: 'unused',
          alertmanager: am.url,
          interval: '1s',
        });
        stops.push(() => central.stop());

        // A dependency that refuses connections: DependencyDown fires at both sites.
        const closedPort = await freePort();
        const startSite = async (name: string): Promise<{ exporter: RunningCli }> => {
          const config = join(dir, `${name}.yml`);
          writeFileSync(
            config,
            `exporter:
  listen: 127.0.0.1:0
collectors:
  containers: { enabled: false }
  dependencies:
    interval: 1s
    timeout: 1s
    targets:
      - { name: backend, kind: tcp, address: "127.0.0.1:${closedPort}", probe_timeout: 500ms }
`,
          );
          const exporter = await startCli(['exporter', '--config', config]);
          stops.push(() => exporter.stop());
          // A site's agent as the site overlay runs it: external labels, job "watchpost", and the
          // exporter's address as the overlay names it (the test's loopback port is rewritten).
          writeFileSync(
            join(dir, `${name}-agent.yml`),
            `global:
  scrape_interval: 1s
  external_labels: { site: ${name}, host: recorder-1 }
scrape_configs:
  - job_name: watchpost
    static_configs: [{ targets: ['127.0.0.1:${exporter.port}'] }]
    relabel_configs:
      - { target_label: instance, replacement: '${INSTANCE}' }
remote_write:
  - url: ${central.url}/api/v1/write
    queue_config: { batch_send_deadline: 1s }
`,
          );
          const port = await freePort();
          const agent = spawn(
            prom,
            [
              '--enable-feature=agent',
              `--config.file=${join(dir, `${name}-agent.yml`)}`,
              `--storage.agent.path=${join(dir, `${name}-wal`)}`,
              `--web.listen-address=127.0.0.1:${port}`,
            ],
            { stdio: 'ignore' },
          );
          const exited = new Promise((r) => agent.once('exit', r));
          stops.push(async () => {
            if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGTERM');
            await exited;
          });
          return { exporter };
        };
        const paris = await startSite('paris');
        await startSite('lyon');

        const delivered = () => receiver.received.flatMap((r) => r.body.alerts);
        const amAlerts = async (filter: string) =>
          (await (
            await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent(filter)}`)
          ).json()) as AmAlert[];

        // --- both sites report their dependency down, labelled with the same instance
        await eventually(
          () => {
            const sites = new Set(
              delivered()
                .filter((a) => a.labels.alertname === 'DependencyDown' && a.status === 'firing')
                .map((a) => `${a.labels.site} ${a.labels.instance}`),
            );
            return sites.has(`paris ${INSTANCE}`) && sites.has(`lyon ${INSTANCE}`) ? true : undefined;
          },
          180_000,
          'DependencyDown delivered for both sites',
        );

        // --- paris's exporter goes away; its agent keeps pushing up == 0
        const killedAt = Date.now();
        await paris.exporter.stop('SIGKILL');
        const down = await eventually(
          async () => {
            const r = await central.query('up{job="watchpost", site="paris"} == 0');
            return r.length === 1 ? r : undefined;
          },
          60_000,
          "paris's agent pushing up == 0",
        );
        assert.equal(down[0]!.metric.instance, INSTANCE);

        // WatchpostExporterDown of paris's host fires a minute after its exporter went; by then
        // SiteUnreachable (30 s) is in Alertmanager and mutes it before it can be sent.
        const parisInAm = await eventually(
          async () => {
            const list = await amAlerts('site="paris"');
            return list.some((a) => a.labels.alertname === 'WatchpostExporterDown') ? list : undefined;
          },
          180_000,
          "paris's WatchpostExporterDown in Alertmanager",
        );
        const state = (list: AmAlert[], name: string) =>
          list.find((a) => a.labels.alertname === name)?.status;
        assert.equal(state(parisInAm, 'SiteUnreachable')?.state, 'active', 'SiteUnreachable there first');
        for (const name of ['WatchpostExporterDown', 'DependencyDown']) {
          assert.equal(state(parisInAm, name)?.state, 'suppressed', `paris ${name}`);
          assert.ok((state(parisInAm, name)?.inhibitedBy.length ?? 0) > 0, `paris ${name} inhibited`);
        }
        const site = await eventually(
          () => delivered().find((a) => a.labels.alertname === 'SiteUnreachable' && a.status === 'firing'),
          60_000,
          'SiteUnreachable delivered for paris',
        );
        assert.equal(site.labels.site, 'paris');
        const firing = (await central.alerts()).filter((a) => a.state === 'firing');
        assert.ok(
          firing.some((a) => a.labels.alertname === 'WatchpostExporterDown' && a.labels.site === 'paris'),
          'WatchpostExporterDown fires in Prometheus',
        );

        // Lyon, whose host has the same instance name, is not muted by anything of paris.
        const lyon = (await amAlerts('site="lyon"')).find((a) => a.labels.alertname === 'DependencyDown');
        assert.equal(lyon?.labels.instance, INSTANCE);
        assert.deepEqual(lyon?.status, { ...lyon?.status, state: 'active', inhibitedBy: [] });

        // Nothing about paris went out after its exporter vanished but SiteUnreachable: not the
        // exporter down, not a false "resolved" of its dependency.
        const afterKill = receiver.received
          .filter((r) => r.at > killedAt)
          .flatMap((r) => r.body.alerts)
          .filter((a) => a.labels.site === 'paris')
          .map((a) => `${a.labels.alertname} ${a.status}`);
        assert.deepEqual([...new Set(afterKill)], ['SiteUnreachable firing']);
        assert.ok(!delivered().some((a) => a.labels.alertname === 'WatchpostExporterDown'));
      } finally {
        for (const stop of stops.reverse()) await stop().catch(() => {});
      }
    });
  },
);
