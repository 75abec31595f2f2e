import os from 'node:os';
import type { Systeminformation } from 'systeminformation';
import type { TemperatureSensor } from './hwmon.js';
import type { LinkState } from './netdev.js';
import { boundOsInfo, type OsInfo } from './os-release.js';

/**
 * Source adapter for the `systeminformation` package, the portable path: what the
 * exporter reads from /proc and /sys on Linux it reads through systeminformation on macOS,
 * the BSDs and Windows, so `npm start` on a laptop still shows the host. On Linux the
 * /proc and /sys readers are used instead (measured in bench/RESULTS.md: systeminformation
 * runs a shell per interface for network counters). The package is imported on first use
 * only, so an exporter that never needs it does not load it.
 */

type SI = typeof import('systeminformation');
let loaded: Promise<SI> | undefined;

function si(): Promise<SI> {
  loaded ??= import('systeminformation').then((m) => ((m as unknown as { default?: SI }).default ?? m) as SI);
  return loaded;
}

/** One interface as systeminformation sees it; it has no packet counters. */
export interface SiInterface {
  device: string;
  receiveBytes: number;
  receiveErrors: number;
  receiveDrops: number;
  transmitBytes: number;
  transmitErrors: number;
  transmitDrops: number;
  link: LinkState;
}

/** Counters, state and speed of every interface systeminformation lists. */
export async function siInterfaces(): Promise<SiInterface[]> {
  const lib = await si();
  // rescan false: systeminformation lists the interfaces again only when the OS's list
  // changed (a full rescan runs several programs per interface); state and counters come
  // fresh from networkStats, which reads them at most every 500 ms.
  const ifaces = await lib.networkInterfaces(false);
  const list = Array.isArray(ifaces) ? ifaces : [ifaces];
  if (list.length === 0) return [];
  const stats = await lib.networkStats(list.map((i) => i.iface).join(','));
  const byName = new Map(list.map((i) => [i.iface, i]));
  return stats
    .filter((s) => s.iface !== '' && byName.has(s.iface))
    .map((s) => fromSi(s, byName.get(s.iface)!));
}

/** The mapping from systeminformation's fields, apart so that it is tested without the package's shell-outs. */
export function fromSi(
  s: Systeminformation.NetworkStatsData,
  i: Pick<Systeminformation.NetworkInterfacesData, 'operstate' | 'speed'>,
): SiInterface {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  const operstate = (s.operstate || i.operstate || '').toLowerCase();
  return {
    device: s.iface,
    receiveBytes: n(s.rx_bytes),
    receiveErrors: n(s.rx_errors),
    receiveDrops: n(s.rx_dropped),
    transmitBytes: n(s.tx_bytes),
    transmitErrors: n(s.tx_errors),
    transmitDrops: n(s.tx_dropped),
    link: {
      operstate: /^[a-z]+$/.test(operstate) ? operstate : undefined,
      carrier: undefined,
      speedMbps: typeof i.speed === 'number' && i.speed > 0 ? i.speed : undefined,
    },
  };
}

/**
 * CPU temperatures as systeminformation reads them (on macOS only with its optional
 * osx-temperature-sensor package). It reports `null` where no sensor exists: no sensor
 * means no entry, never a 0.
 */
export async function siCpuTemperatures(): Promise<TemperatureSensor[]> {
  const t = await (await si()).cpuTemperature();
  return cpuTemperaturesFromSi(t);
}

export function cpuTemperaturesFromSi(t: Systeminformation.CpuTemperatureData): TemperatureSensor[] {
  const out: TemperatureSensor[] = [];
  const add = (sensor: string, celsius: unknown) => {
    if (typeof celsius !== 'number' || !Number.isFinite(celsius) || celsius <= 0) return;
    out.push({ chip: 'cpu', sensor, kind: 'cpu', celsius, maxCelsius: undefined, critCelsius: undefined });
  };
  add('main', t.main);
  (t.cores ?? []).forEach((c, i) => add(`core ${i}`, c));
  return out;
}

/** OS info on systems without os-release. */
export async function siOsInfo(): Promise<OsInfo> {
  return osInfoFromSi(await (await si()).osInfo());
}

export function osInfoFromSi(info: Pick<Systeminformation.OsData, 'distro' | 'release' | 'kernel'>): OsInfo {
  const name = info.distro || os.type();
  const versionId = info.release || '';
  return boundOsInfo({
    id: process.platform,
    name,
    versionId,
    prettyName: versionId ? `${name} ${versionId}` : name,
    kernel: info.kernel || os.release(),
    arch: os.machine(),
  });
}

/** Memory and swap in bytes where /proc/meminfo does not exist. */
export async function siMemory(): Promise<{
  memTotalBytes: number;
  memAvailableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}> {
  const m = await (await si()).mem();
  return {
    memTotalBytes: m.total,
    memAvailableBytes: m.available,
    swapTotalBytes: m.swaptotal,
    swapFreeBytes: m.swapfree,
  };
}

/** Mounted filesystems where /proc/self/mountinfo does not exist. */
export async function siFilesystems(): Promise<
  { device: string; mountpoint: string; fstype: string; readonly: boolean }[]
> {
  const list = await (await si()).fsSize();
  return list
    .filter((f) => f.mount !== '')
    .map((f) => ({ device: f.fs, mountpoint: f.mount, fstype: f.type, readonly: f.rw === false }));
}
