import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProcFileSync } from './procfs.js';

/**
 * Source adapter for Linux network interfaces: per-interface counters from
 * `<procfs>/1/net/dev` and link state and speed from `<sysfs>/class/net/<device>/`, as
 * node_exporter's netdev and netclass collectors read them. Parsers are pure and tested on
 * files captured from a real Docker host (fixtures/net-docker-host/).
 *
 * Why `1/net/dev` and not `net/dev`: /proc/net is a link to /proc/self/net, the network
 * namespace of the process that reads it. In the overlay the exporter runs in a container
 * with the host's /proc mounted at /host/proc, so /host/proc/net/dev would list the
 * container's own eth0; /host/proc/1/net/dev is the namespace of the host's init, which is
 * also the one the host's /sys (mounted at /host/sys) shows. Run on the host itself, or in
 * a container with its own /proc, pid 1 shares the reader's namespace and nothing changes.
 */

/** The counters of one interface, as the kernel keeps them since the interface appeared. */
export interface InterfaceCounters {
  device: string;
  receiveBytes: number;
  receivePackets: number;
  receiveErrors: number;
  receiveDrops: number;
  transmitBytes: number;
  transmitPackets: number;
  transmitErrors: number;
  transmitDrops: number;
}

/** What /sys/class/net/<device>/ says about the link; a field is undefined when the kernel does not know it. */
export interface LinkState {
  /** RFC 2863 operational state: up, down, dormant, lowerlayerdown, notpresent, testing, unknown. */
  operstate: string | undefined;
  /** 1 when the physical link is detected; undefined while the interface is administratively down. */
  carrier: boolean | undefined;
  /** Negotiated speed in Mbit/s; undefined when unknown (down links, virtio, loopback). */
  speedMbps: number | undefined;
}

/** `<procfs>/1/net/dev`: the interfaces of the host's network namespace (see above). */
export function netDevPath(procfs: string): string {
  return join(procfs, '1', 'net', 'dev');
}

/** Reads `<procfs>/1/net/dev` as text, synchronously (see readProcFile). Rejects with a message naming the file. */
export async function readNetDev(procfs: string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  return readProcFileSync(netDevPath(procfs));
}

/** The receive and transmit columns this parser needs, by their names in the header. */
const RECEIVE = ['bytes', 'packets', 'errs', 'drop'] as const;
const TRANSMIT = ['bytes', 'packets', 'errs', 'drop'] as const;

/**
 * Parses /proc/net/dev. The two header lines name the columns of each half (receive, then
 * transmit); the columns are found by name rather than position, so a kernel that adds
 * one (as 2.6 added `compressed`) does not shift the others. `file` only names the file
 * in error messages.
 */
export function parseNetDev(text: string, file = '/proc/net/dev'): InterfaceCounters[] {
  const lines = text.split('\n');
  const header = lines[1];
  const halves = header?.split('|');
  if (!lines[0]?.includes('Receive') || halves?.length !== 3) {
    throw new Error(
      `${file}: expected the header "Inter-| Receive | Transmit" and " face |bytes ...|bytes ...", got ${JSON.stringify(lines.slice(0, 2).join('\n').slice(0, 80))}`,
    );
  }
  const rxNames = halves[1]!.trim().split(/\s+/);
  const txNames = halves[2]!.trim().split(/\s+/);
  const rx = RECEIVE.map((c) => rxNames.indexOf(c));
  const tx = TRANSMIT.map((c) => txNames.indexOf(c));
  if (rx.includes(-1) || tx.includes(-1)) {
    throw new Error(`${file}: the header lacks one of bytes, packets, errs, drop: ${JSON.stringify(header)}`);
  }
  const out: InterfaceCounters[] = [];
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    // "  eth0: 4716954844  370404 ..." and, for long names, "br-304faec1dd60:       0 ..."
    const colon = line.indexOf(':');
    const device = colon > 0 ? line.slice(0, colon).trim() : '';
    const values = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (device === '' || values.length !== rxNames.length + txNames.length || !values.every(isUnsigned)) {
      throw new Error(
        `${file} line ${i + 1}: expected "device: ${rxNames.length + txNames.length} counters", got ${JSON.stringify(line.trim().slice(0, 120))}`,
      );
    }
    const r = (k: number) => Number(values[rx[k]!]);
    const t = (k: number) => Number(values[rxNames.length + tx[k]!]);
    out.push({
      device,
      receiveBytes: r(0),
      receivePackets: r(1),
      receiveErrors: r(2),
      receiveDrops: r(3),
      transmitBytes: t(0),
      transmitPackets: t(1),
      transmitErrors: t(2),
      transmitDrops: t(3),
    });
  }
  return out;
}

function isUnsigned(v: string): boolean {
  return /^\d+$/.test(v);
}

/**
 * Reads operstate, carrier and speed of `device`. Each file that cannot be read is left
 * undefined: the kernel answers EINVAL for the carrier and speed of a link that is down,
 * and some drivers (virtio, loopback, bridges without ports) have no speed at all.
 */
export async function readLinkState(sysfs: string, device: string, signal?: AbortSignal): Promise<LinkState> {
  signal?.throwIfAborted();
  const dir = join(sysfs, 'class', 'net', device);
  // Synchronous, as /proc files are read (readProcFile): sysfs attributes are generated in
  // memory, and three thread-pool round trips per interface cost more than the reads.
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(join(dir, name), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const [operstate, carrier, speed] = [read('operstate'), read('carrier'), read('speed')];
  return parseLinkState(operstate, carrier, speed);
}

/** The link state from the text of operstate, carrier and speed (undefined: unreadable). */
export function parseLinkState(
  operstate: string | undefined,
  carrier: string | undefined,
  speed: string | undefined,
): LinkState {
  const speedMbps =
    speed !== undefined && /^\d+$/.test(speed) && Number(speed) > 0 ? Number(speed) : undefined;
  return {
    operstate: operstate !== undefined && /^[a-z]+$/.test(operstate) ? operstate : undefined,
    carrier: carrier === '1' ? true : carrier === '0' ? false : undefined,
    // The kernel writes -1 (SPEED_UNKNOWN) when it does not know, and older kernels 65535.
    speedMbps: speedMbps === 65535 ? undefined : speedMbps,
  };
}

/**
 * Whether the link carries traffic. `up` is up; `unknown` is what drivers that do not
 * track the operational state report (loopback, tun, some virtual devices), so there the
 * carrier decides, as ip(8) shows "state UNKNOWN" for a working tun device.
 */
export function linkIsUp(state: LinkState): boolean {
  if (state.operstate === 'up') return true;
  if (state.operstate === 'unknown' || state.operstate === undefined) return state.carrier === true;
  return false;
}
