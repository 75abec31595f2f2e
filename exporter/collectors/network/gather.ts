import type { TextPattern } from '../../../config/user-regex.js';
import {
  linkIsUp,
  parseNetDev,
  netDevPath,
  readLinkState,
  readNetDev,
  type LinkState,
} from '../../sources/netdev.js';
import { siInterfaces } from '../../sources/systeminformation.js';

/**
 * What the network collector reports per interface, gathered apart from writing metrics so
 * that each half is tested alone: on Linux from /proc and /sys (the fast path, measured in
 * bench/RESULTS.md), elsewhere through systeminformation, which has no packet counters.
 */
export interface InterfaceRow {
  device: string;
  /** Absent for an expected interface the host does not have (then it is down). */
  counters?: {
    receiveBytes: number;
    receivePackets?: number;
    receiveErrors: number;
    receiveDrops: number;
    transmitBytes: number;
    transmitPackets?: number;
    transmitErrors: number;
    transmitDrops: number;
  };
  up: boolean;
  /** Negotiated speed in bytes per second, when the driver knows it. */
  speedBytes?: number;
  expected: boolean;
}

export type NetworkSource = 'procfs' | 'systeminformation';

export interface NetworkOptions {
  source: NetworkSource;
  procfs: string;
  sysfs: string;
  /** Interfaces left out unless expected (loopback and Docker's virtual ones by default). */
  exclude: TextPattern;
  /** Interfaces that must exist and be up; reported even when excluded or missing. */
  expected: readonly string[];
}

interface Seen {
  device: string;
  counters: NonNullable<InterfaceRow['counters']>;
  link: LinkState;
}

/** Reads every interface and keeps the ones to report (see selectInterfaces). */
export async function gatherNetwork(opts: NetworkOptions, signal: AbortSignal): Promise<InterfaceRow[]> {
  signal.throwIfAborted();
  let seen: Seen[];
  if (opts.source === 'procfs') {
    const counters = parseNetDev(await readNetDev(opts.procfs, signal), netDevPath(opts.procfs));
    const wanted = counters.filter((c) => keep(c.device, opts));
    const links = await Promise.all(wanted.map((c) => readLinkState(opts.sysfs, c.device, signal)));
    seen = wanted.map(({ device, ...rest }, i) => ({ device, counters: rest, link: links[i]! }));
  } else {
    seen = (await siInterfaces())
      .filter((i) => keep(i.device, opts))
      .map(({ device, link, ...counters }) => ({ device, counters, link }));
  }
  signal.throwIfAborted();
  return selectInterfaces(seen, opts);
}

function keep(device: string, opts: Pick<NetworkOptions, 'exclude' | 'expected'>): boolean {
  return opts.expected.includes(device) || !opts.exclude.test(device);
}

/**
 * The rows to export, sorted by device: every interface not excluded, every expected one
 * (even when the pattern excludes it), and, for an expected interface the host does not
 * have, a row that says it is down, so that NetworkInterfaceDown fires instead of the
 * series vanishing.
 */
export function selectInterfaces(
  seen: readonly Seen[],
  opts: Pick<NetworkOptions, 'exclude' | 'expected'>,
): InterfaceRow[] {
  const expected = new Set(opts.expected);
  const rows: InterfaceRow[] = [];
  for (const s of seen) {
    if (!keep(s.device, opts)) continue;
    const row: InterfaceRow = {
      device: s.device,
      counters: s.counters,
      up: linkIsUp(s.link),
      expected: expected.has(s.device),
    };
    // Mbit/s (10^6 bits) to bytes per second, as node_exporter's node_network_speed_bytes.
    if (s.link.speedMbps !== undefined) row.speedBytes = (s.link.speedMbps * 1_000_000) / 8;
    rows.push(row);
  }
  for (const device of expected) {
    if (!rows.some((r) => r.device === device)) rows.push({ device, up: false, expected: true });
  }
  return rows.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
}
