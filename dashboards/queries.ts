// What the dashboards ask Prometheus, gathered from the rendered JSON: every panel query,
// every template variable query and every annotation query. Tests read them to check that
// each is valid PromQL that returns data, and that each metric is documented.

export interface PanelJson {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string; links?: { url?: string }[] } };
  links?: { url?: string }[];
  targets?: { refId?: string; expr?: string; datasource?: { uid?: string } }[];
  panels?: PanelJson[];
}

export interface DashboardJson {
  uid: string;
  title: string;
  tags?: string[];
  panels: PanelJson[];
  templating: {
    list: {
      name: string;
      type: string;
      query?: unknown;
      current?: { value?: unknown };
      allValue?: string;
      datasource?: { uid?: string };
    }[];
  };
  annotations: { list: { name: string; expr?: string; datasource?: { uid?: string } }[] };
  links?: unknown[];
}

export interface DashboardQuery {
  dashboard: string;
  /** "panel 3 (CPU busy) A", "variable instance", "annotation Firing alerts". */
  where: string;
  panelId?: number;
  expr: string;
}

export function panels(d: DashboardJson): PanelJson[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function panelQueries(d: DashboardJson): DashboardQuery[] {
  return panels(d).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => t.expr !== undefined)
      .map((t) => ({
        dashboard: d.uid,
        where: `panel ${p.id} (${p.title}) ${t.refId}`,
        panelId: p.id,
        expr: t.expr!,
      })),
  );
}

export function annotationQueries(d: DashboardJson): DashboardQuery[] {
  return d.annotations.list
    .filter((a) => a.expr !== undefined)
    .map((a) => ({ dashboard: d.uid, where: `annotation ${a.name}`, expr: a.expr! }));
}

/** A query variable's `label_values(selector, label)`, split up. */
export interface VariableQuery {
  dashboard: string;
  name: string;
  selector: string;
  label: string;
}

export function variableQueries(d: DashboardJson): VariableQuery[] {
  return d.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => {
      const m = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(String(v.query));
      if (!m)
        throw new Error(
          `${d.uid}: variable ${v.name}: not label_values(selector, label): ${String(v.query)}`,
        );
      return { dashboard: d.uid, name: v.name, selector: m[1]!, label: m[2]! };
    });
}

/**
 * An expression as Grafana sends it with every variable at "All" (`.*`, the variables'
 * allValue) and Grafana's interval macros at what they are for a one-hour range on a
 * Prometheus that scrapes every few seconds.
 */
export function interpolate(expr: string, vars: Record<string, string> = {}): string {
  return expr
    .replace(/\$__rate_interval/g, '1m')
    .replace(/\$__interval/g, '15s')
    .replace(/\$__range/g, '1h')
    .replace(/\$\{?([a-z_]+)\}?/g, (_, name: string) => vars[name] ?? '.*');
}

/** Metric names an expression uses (not functions, keywords, label names or strings). */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const noLabels = noStrings.replace(/\{[^}]*\}/g, '{}');
  const noGrouping = noLabels.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const noRanges = noGrouping.replace(/\[[^\]]*\]/g, '');
  const words = noRanges.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g) ?? [];
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'Inf', 'NaN']);
  return [...new Set(words.filter((w) => !keywords.has(w) && !/^\d/.test(w)))];
}
