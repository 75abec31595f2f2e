import { compileUserRegex } from '../../../config/user-regex.js';
import { Snapshot, sourceOnThisSystem, type Collector, type CollectorDeps } from '../../collector.js';
import { DEFAULT_EXCLUDED_DEVICES } from './config.js';
import { gatherNetwork, type InterfaceRow, type NetworkOptions } from './gather.js';
import * as m from './metrics.js';

/**
 * Network interfaces, as node_exporter's netdev and netclass collectors: traffic, errors and
 * drops per interface, whether its link is up, its speed, and which interfaces the user
 * expects. The worked example of a collector in its own folder: config.ts (its section of
 * watchpost.yml), metrics.ts (its families), gather.ts (reading, pure and tested on
 * fixtures), this file (rows to a snapshot) and index.ts (the descriptor, one registry line).
 */
export class NetworkCollector implements Collector {
  readonly name = 'network';
  readonly families = m.FAMILIES;

  private readonly options: NetworkOptions;
  private missing: string[] = [];

  constructor(deps: CollectorDeps) {
    const cfg = deps.config.collectors.network;
    this.options = {
      source: sourceOnThisSystem(cfg.source, 'procfs'),
      procfs: deps.config.paths.procfs,
      sysfs: deps.config.paths.sysfs,
      exclude: compileUserRegex(cfg.exclude_devices, DEFAULT_EXCLUDED_DEVICES),
      expected: cfg.expected,
    };
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    const rows = await gatherNetwork(this.options, signal);
    this.missing = rows.filter((r) => r.expected && !r.counters).map((r) => r.device);
    return networkSnapshot(rows);
  }

  notes(): string[] {
    return this.missing.map(
      (d) =>
        `expected interface ${d} does not exist on this host (reported as down); see collectors.network.expected`,
    );
  }
}

/** The rows as metric families; a counter the source does not have is left out, never 0. */
export function networkSnapshot(rows: readonly InterfaceRow[]): Snapshot {
  const s = new Snapshot();
  for (const r of rows) {
    const device = { device: r.device };
    const c = r.counters;
    if (c) {
      s.add(m.receiveBytes, device, c.receiveBytes);
      s.add(m.transmitBytes, device, c.transmitBytes);
      if (c.receivePackets !== undefined) s.add(m.receivePackets, device, c.receivePackets);
      if (c.transmitPackets !== undefined) s.add(m.transmitPackets, device, c.transmitPackets);
      s.add(m.receiveErrors, device, c.receiveErrors);
      s.add(m.transmitErrors, device, c.transmitErrors);
      s.add(m.receiveDrops, device, c.receiveDrops);
      s.add(m.transmitDrops, device, c.transmitDrops);
    }
    s.add(m.linkUp, device, r.up ? 1 : 0);
    if (r.speedBytes !== undefined) s.add(m.speedBytes, device, r.speedBytes);
    if (r.expected) s.add(m.interfaceExpected, device, 1);
  }
  return s;
}
