// Shared building blocks of the watchpost dashboards: the datasource, the template variables,
// panel builders that always set a unit, a datasource and stable ids, and the links between
// dashboards. Everything here is typed by the Grafana Foundation SDK, so a field Grafana does
// not know is a compile error (`npm run build` type-checks this folder).
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The uid provisioning/grafana/datasources/prometheus.yml gives the Prometheus datasource. */
export const DATASOURCE_UID = 'watchpost-prometheus';

/** Every query goes through the `datasource` variable, which defaults to the provisioned one. */
export const DS: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Every dashboard carries this tag; the dashboards' link menu lists the tagged ones. */
export const TAG = 'watchpost';

/**
 * The dashboards, by key. The uid is what links and alert annotations use and never changes;
 * the slug is what Grafana derives from the title (lower case, runs of other characters made
 * one "-"), kept equal to the uid so a link reads the same as the address Grafana shows.
 */
export const DASHBOARDS = {
  overview: { uid: 'watchpost-overview', title: 'Watchpost / Overview' },
  host: { uid: 'watchpost-host-and-disks', title: 'Watchpost / Host and disks' },
  containers: { uid: 'watchpost-containers', title: 'Watchpost / Containers' },
  streams: { uid: 'watchpost-streams', title: 'Watchpost / Streams' },
  security: { uid: 'watchpost-security', title: 'Watchpost / Security' },
  dependencies: {
    uid: 'watchpost-dependencies-and-backups',
    title: 'Watchpost / Dependencies and backups',
  },
  self: { uid: 'watchpost-self-monitoring', title: 'Watchpost / Self-monitoring' },
} as const;
export type DashboardKey = keyof typeof DASHBOARDS;

/** Grafana's slug of a title (pkg/infra/slugify for ASCII titles). */
export function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** A dashboard's path, `d/<uid>/<slug>`, relative to Grafana's base URL. */
export function dashboardPath(key: DashboardKey): string {
  const d = DASHBOARDS[key];
  return `d/${d.uid}/${slugify(d.title)}`;
}

/**
 * The thresholds the alert rules use, in one place. A test checks that each number still
 * appears in its rule's expression, so a changed rule cannot leave a dashboard colouring the
 * old limit. Per-item limits (disk threshold per mount, backup maximum age, slow probe
 * threshold, stream limit, expected counts) are not here: the exporter exports them and the
 * panels draw them as series.
 */
export const ALERT_THRESHOLDS = {
  /** DiskSpaceLow, critical tier: used ratio > 0.97 whatever the mount's own threshold */
  'DiskSpaceLow (critical)': 0.97,
  /** HostHighCpu: avg_over_time(watchpost_host_cpu_usage_ratio[5m]) > 0.9 */
  HostHighCpu: 0.9,
  /** HostLowMemory: available / total < 0.1 */
  HostLowMemory: 0.1,
  /** NetworkInterfaceErrors: (rx + tx errors) / (rx + tx packets) > 0.01 */
  NetworkInterfaceErrors: 0.01,
  /** ContainerRestartLoop: increase(restarts[15m]) >= 3 */
  ContainerRestartLoop: 3,
  /** AuthFailureSpike: failures of one source in 5 minutes > 30 */
  AuthFailureSpike: 30,
  /** BruteForceFromClient: increase(failures by client[10m]) > 20 */
  BruteForceFromClient: 20,
  /** HttpErrorRatioHigh: 5xx / all > 0.05 */
  HttpErrorRatioHigh: 0.05,
  /** TlsCertificateExpiringSoon: fewer than 14 days left */
  TlsCertificateExpiringSoon: 14,
  /** TlsCertificateExpiringCritical: fewer than 3 days left */
  TlsCertificateExpiringCritical: 3,
  /** NotifierOutboxGrowing: outbox depth > 100 */
  NotifierOutboxGrowing: 100,
  /** NotifierDeliveryRetrying: oldest undelivered notification of a channel older than 300 s */
  NotifierDeliveryRetrying: 300,
} as const;

// ---------------------------------------------------------------------------------------
// Template variables

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus')
    .current({ selected: true, text: 'Prometheus', value: DATASOURCE_UID });
}

/**
 * A multi-value variable from a label's values. "All" is sent as `.*`, so an empty label
 * value (a container without compose labels) still matches.
 */
export function labelVariable(
  name: string,
  label: string,
  query: string,
  description: string,
): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(DS)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalCaseInsensitiveAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/**
 * Where the data comes from. An exporter on another host carries `site` and `host` (its agent's
 * external labels, or its entry in the central Prometheus's target file; docs/scaling.md); a
 * single-host installation has neither. The variables list the values of the scraped targets'
 * `up` (one series per exporter, also while it is down); "All" is `.*`, which also matches an
 * absent label, so the dashboards of a single host show everything without choosing anything.
 */
export function siteVariable(jobs = 'watchpost'): dashboard.QueryVariableBuilder {
  return labelVariable(
    'site',
    'Site',
    `label_values(up{job=~"${jobs}"}, site)`,
    "The site(s) to show (the exporters' site label); none on a single-host installation.",
  );
}

export function hostVariable(jobs = 'watchpost'): dashboard.QueryVariableBuilder {
  return labelVariable(
    'host',
    'Host',
    `label_values(up{job=~"${jobs}", site=~"$site"}, host)`,
    "The host(s) of the selected sites to show (the exporters' host label); none on a single-host installation.",
  );
}

export function instanceVariable(jobs = 'watchpost'): dashboard.QueryVariableBuilder {
  return labelVariable(
    'instance',
    'Instance',
    `label_values(up{job=~"${jobs}", site=~"$site", host=~"$host"}, instance)`,
    'The watchpost exporter(s) of the selected sites and hosts to show: one per monitored host.',
  );
}

/**
 * The matchers every query of a dashboard with the site, host and instance variables uses. An
 * aggregation or join keeps `site, host, instance` (`by (site, host, instance, …)`), so two sites
 * whose exporters have the same instance address (each agent scrapes its own
 * `watchpost-exporter:9850`) stay apart, and a legend starts with `{{site}} {{host}}`.
 */
export const I = 'site=~"$site", host=~"$host", instance=~"$instance"';

// ---------------------------------------------------------------------------------------
// Queries

export interface Query {
  expr: string;
  legend?: string;
  /** An instant query (tables, stats of the current value). */
  instant?: boolean;
  /** Table format: labels become columns. */
  table?: boolean;
  /**
   * Context next to a stat's main value (e.g. how many run in all): drawn in a neutral
   * colour, without the panel's thresholds and value mappings.
   */
  context?: boolean;
}

function target(q: Query, i: number): prometheus.DataqueryBuilder {
  const b = new prometheus.DataqueryBuilder()
    .datasource(DS)
    .refId(String.fromCharCode(65 + i))
    .expr(q.expr)
    .legendFormat(q.legend ?? '__auto');
  if (q.instant) b.instant();
  else b.range();
  if (q.table) b.format(prometheus.PromQueryFormat.Table);
  return b;
}

// ---------------------------------------------------------------------------------------
// Panels

export interface PanelOptions {
  id: number;
  title: string;
  /** What question the panel answers; shown as the panel's (i) tooltip. */
  description: string;
  unit: string;
  queries: Query[];
  width?: number;
  height?: number;
  min?: number;
  max?: number;
  /** Colour steps: the first is the base colour, then [value, colour] from that value up. */
  steps?: [number | null, string][];
  mappings?: dashboard.ValueMapping[];
  links?: dashboard.DashboardLinkBuilder[];
  decimals?: number;
}

export function thresholds(steps: [number | null, string][]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

/** Green at and above 1, red below: an up/success gauge. */
export const UP_STEPS: [number | null, string][] = [
  [null, 'red'],
  [1, 'green'],
];
/** Green at 0, red from 1: a count of problems. */
export const PROBLEM_STEPS: [number | null, string][] = [
  [null, 'green'],
  [1, 'red'],
];

export function upDownMapping(down = 'Down', up = 'Up'): dashboard.ValueMapping[] {
  return [
    {
      type: dashboard.MappingType.ValueToText,
      options: { '0': { text: down, color: 'red', index: 0 }, '1': { text: up, color: 'green', index: 1 } },
    },
  ];
}

export function timeseriesPanel(o: PanelOptions): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .id(o.id)
    .title(o.title)
    .description(o.description)
    .datasource(DS)
    .unit(o.unit)
    .span(o.width ?? 12)
    .height(o.height ?? 8)
    .targets(o.queries.map(target))
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max']),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false);
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  if (o.decimals !== undefined) p.decimals(o.decimals);
  if (o.steps) {
    p.thresholds(thresholds(o.steps)).thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  if (o.mappings) p.mappings(o.mappings);
  if (o.links) p.links(o.links);
  return p;
}

/**
 * Series whose legend ends in the given word (e.g. "threshold", "limit") are drawn as dashed
 * lines without fill: the expectation the exporter exports, next to what is measured.
 */
export function dashedSeries(p: timeseries.PanelBuilder, suffix: string): timeseries.PanelBuilder {
  return p.overrideByRegexp(`.*${suffix}$`, [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
  ]);
}

export function statPanel(o: PanelOptions): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .id(o.id)
    .title(o.title)
    .description(o.description)
    .datasource(DS)
    .unit(o.unit)
    .span(o.width ?? 6)
    .height(o.height ?? 4)
    .targets(o.queries.map((q, i) => target({ instant: true, ...q }, i)))
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName);
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  if (o.decimals !== undefined) p.decimals(o.decimals);
  p.thresholds(thresholds(o.steps ?? [[null, 'blue']]));
  if (o.mappings) p.mappings(o.mappings);
  if (o.links) p.dataLinks(o.links);
  o.queries.forEach((q, i) => {
    if (q.context)
      p.overrideByQuery(String.fromCharCode(65 + i), [
        { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
        { id: 'mappings', value: [] },
      ]);
  });
  return p;
}

export interface Column {
  /** The query's refId letter, e.g. "A": its value column is "Value #A". */
  ref: string;
  title: string;
  unit: string;
  steps?: [number | null, string][];
  mappings?: dashboard.ValueMapping[];
}

/**
 * A table of instant queries joined on their labels: one row per item (container, mount,
 * stream…), one column per query. Value columns are renamed and get their own unit and
 * colours; Time and the label columns named in `hide` are hidden.
 */
export function tablePanel(
  o: Omit<PanelOptions, 'unit'> & { columns: Column[]; hide?: string[]; unit?: string; sortBy?: string },
): table.PanelBuilder {
  const renames: Record<string, string> = {};
  const excluded: Record<string, boolean> = { Time: true, __name__: true, job: true };
  for (const h of o.hide ?? []) excluded[h] = true;
  for (const c of o.columns) renames[`Value #${c.ref}`] = c.title;
  // Queries without a column of their own (labels only, e.g. state) have their value hidden.
  o.queries.forEach((_, i) => {
    const ref = String.fromCharCode(65 + i);
    if (!o.columns.some((c) => c.ref === ref)) excluded[`Value #${ref}`] = true;
  });
  const p = new table.PanelBuilder()
    .id(o.id)
    .title(o.title)
    .description(o.description)
    .datasource(DS)
    .unit(o.unit ?? 'none')
    .span(o.width ?? 24)
    .height(o.height ?? 8)
    .targets(o.queries.map((q, i) => target({ ...q, instant: true, table: true }, i)))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: { excludeByName: excluded, renameByName: renames, indexByName: {} },
    })
    .filterable(true);
  if (o.sortBy) p.sortBy([new common.TableSortByFieldStateBuilder().displayName(o.sortBy).desc(true)]);
  for (const c of o.columns) {
    const props: dashboard.DynamicConfigValue[] = [{ id: 'unit', value: c.unit }];
    if (c.steps) {
      props.push({ id: 'thresholds', value: thresholds(c.steps).build() });
      props.push({ id: 'custom.cellOptions', value: { type: 'color-background' } });
    }
    if (c.mappings) props.push({ id: 'mappings', value: c.mappings });
    p.overrideByName(c.title, props);
  }
  if (o.links) p.dataLinks(o.links);
  return p;
}

export function row(id: number, title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title).id(id);
}

// ---------------------------------------------------------------------------------------
// Links

/** A data link to another dashboard, keeping the time range and the site, host and instance selection. */
export function linkTo(key: DashboardKey, title?: string, panelId?: number): dashboard.DashboardLinkBuilder {
  const view = panelId === undefined ? '' : `&viewPanel=${panelId}`;
  return new dashboard.DashboardLinkBuilder(title ?? `Open ${DASHBOARDS[key].title}`)
    .type(dashboard.DashboardLinkType.Link)
    .url(
      `/${dashboardPath(key)}?\${__url_time_range}&\${site:queryparam}&\${host:queryparam}&\${instance:queryparam}${view}`,
    );
}

/**
 * The SDK fills in `placement: "inControlsMenu"` by default, which tucks a dashboard link or
 * annotation toggle away in the controls menu of Grafana 12.4+; without it Grafana shows it
 * in the dashboard's top bar, where people look for it.
 */
function inTopBar<T extends { placement?: unknown }>(b: cog.Builder<T>): cog.Builder<T> {
  return {
    build() {
      const built = b.build();
      delete built.placement;
      return built;
    },
  };
}

/** The dashboard skeleton: uid, title, tags, time, refresh, datasource variable, link menu. */
export function base(key: DashboardKey, description: string): dashboard.DashboardBuilder {
  const d = DASHBOARDS[key];
  return new dashboard.DashboardBuilder(d.title)
    .uid(d.uid)
    .description(description)
    .tags([TAG])
    .editable()
    .timezone('browser')
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
    .annotation(
      inTopBar(
        new dashboard.AnnotationQueryBuilder()
          .name('Annotations & Alerts')
          .builtIn(1)
          .datasource({ type: 'grafana', uid: '-- Grafana --' })
          .type('dashboard')
          .enable(true)
          .hide(true)
          .iconColor('rgba(0, 211, 255, 1)'),
      ),
    )
    .annotation(
      inTopBar(
        new dashboard.AnnotationQueryBuilder()
          .name('Firing alerts')
          .datasource(DS)
          .enable(true)
          .iconColor('red')
          .expr(`ALERTS{alertstate="firing", alertname!="Watchdog", ${I}}`)
          .step('60s')
          .titleFormat('{{alertname}}')
          .textFormat('{{severity}}')
          .tagKeys('severity'),
      ),
    )
    .link(
      inTopBar(
        new dashboard.DashboardLinkBuilder('Watchpost dashboards')
          .type(dashboard.DashboardLinkType.Dashboards)
          .tags([TAG])
          .asDropdown(true)
          .includeVars(true)
          .keepTime(true),
      ),
    );
}
