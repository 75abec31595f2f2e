/**
 * Metric families as data, after node_exporter's const metrics: a collector declares its
 * families once (name, help, type, label names) and each run returns a Snapshot of
 * samples; one renderer writes the exposition text. Nothing is mutated between runs, so
 * nothing can be left stale, and a counter is exported from the absolute value its
 * source keeps (the kernel, nginx, a follower's running total), never by reset() + inc().
 *
 * The text is the Prometheus text format 0.0.4 exactly as prom-client 15 writes it (HELP
 * and TYPE even for an empty family, one blank line between families, labels in the
 * order given), so a family that moves here keeps the same bytes on /metrics.
 */

export type MetricType = 'gauge' | 'counter';

export interface MetricFamily<L extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly L[];
}

export function gauge<L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): MetricFamily<L> {
  return { name, help, type: 'gauge', labelNames };
}

export function counter<L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): MetricFamily<L> {
  return { name, help, type: 'counter', labelNames };
}

export type Labels<L extends string> = { readonly [K in L]: string };

interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/**
 * The samples of one run, by family. Adding a sample whose labels are already there
 * replaces its value in place (as setting a prom-client gauge twice does), so a series
 * is never written twice.
 */
export class Snapshot {
  readonly #families = new Map<MetricFamily, Map<string, Sample>>();
  readonly #onAccept: (() => void)[] = [];

  /**
   * Runs `fn` when the runner serves this snapshot. State a collector compares its next
   * run with (the CPU times of the host) advances here, so a run that timed out and was
   * dropped never becomes the base of the next one.
   */
  onAccept(fn: () => void): this {
    this.#onAccept.push(fn);
    return this;
  }

  /** Called by the runner once the snapshot is served. */
  accept(): void {
    for (const fn of this.#onAccept.splice(0)) fn();
  }

  add<L extends string>(family: MetricFamily<L>, labels: Labels<L>, value: number): this {
    let samples = this.#families.get(family);
    if (!samples) this.#families.set(family, (samples = new Map()));
    let key = '';
    for (const name of family.labelNames) key += `${(labels as Record<string, string>)[name]}\u0000`;
    samples.set(key, { labels, value });
    return this;
  }

  /** The samples of `family`, in the order they were first added. */
  samples(family: MetricFamily): { labels: Readonly<Record<string, string>>; value: number }[] {
    return [...(this.#families.get(family)?.values() ?? [])];
  }

  /** The samples of `family` in the order they were first added, without copying them (the renderer). */
  samplesOf(family: MetricFamily): Iterable<Sample> {
    return this.#families.get(family)?.values() ?? [];
  }

  /** The value of one series, or undefined (tests and derived views). */
  value<L extends string>(family: MetricFamily<L>, labels: Labels<L>): number | undefined {
    const samples = this.#families.get(family);
    if (!samples) return undefined;
    let key = '';
    for (const name of family.labelNames) key += `${(labels as Record<string, string>)[name]}\u0000`;
    return samples.get(key)?.value;
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value needs escaping only when it holds one of these; most never do. */
const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabelValue(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

/**
 * The exposition text of `families` with the samples of `snapshot`. Written as one string
 * without intermediate arrays: it runs after every collector run, for every series.
 */
export function renderFamilies(families: readonly MetricFamily[], snapshot: Snapshot): string {
  let out = '';
  for (const family of families) {
    if (out !== '') out += '\n';
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const { labels, value } of snapshot.samplesOf(family)) {
      out += family.name;
      let first = true;
      for (const name in labels) {
        out += `${first ? '{' : ','}${name}="${escapeLabelValue(labels[name]!)}"`;
        first = false;
      }
      out += `${first ? '' : '}'} ${formatValue(value)}\n`;
    }
  }
  return out === '' ? '\n' : out;
}
