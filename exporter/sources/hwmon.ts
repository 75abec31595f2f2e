import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * Source adapter for Linux hardware monitoring (hwmon) temperature sensors, as the kernel
 * documents them (Documentation/hwmon/sysfs-interface.rst) and node_exporter's hwmon
 * collector reads them: `<sysfs>/class/hwmon/hwmonN/` holds `name` (the driver: coretemp,
 * k10temp, nvme, drivetemp, ...), and per sensor `tempM_input` in millidegrees Celsius,
 * optionally `tempM_label`, `tempM_max` and `tempM_crit`. Older drivers keep these files in
 * `hwmonN/device/` instead. `hwmonN` numbers change between boots, so a chip is named by
 * its driver and its device (the `device` link), never by N.
 */

export type SensorKind = 'cpu' | 'disk' | 'other';

export interface TemperatureSensor {
  /** The driver and its device, stable across boots: "coretemp_coretemp.0", "nvme_nvme0". */
  chip: string;
  /** The sensor's label ("Package id 0", "Composite") or, without one, "tempM". */
  sensor: string;
  kind: SensorKind;
  celsius: number;
  /** The driver's own limits, when it has them (tempM_max, tempM_crit). */
  maxCelsius: number | undefined;
  critCelsius: number | undefined;
}

/**
 * Drivers that measure a CPU (or the SoC it is part of) and drives. Everything else
 * (chassis, ACPI zones, GPUs, Wi-Fi chips) is `other`.
 */
const CPU_DRIVERS = new Set([
  'coretemp',
  'k10temp',
  'k8temp',
  'zenpower',
  'via_cputemp',
  'cpu_thermal',
  'cpu-thermal',
  'soc_thermal',
  'x86_pkg_temp',
]);
const DISK_DRIVERS = new Set(['nvme', 'drivetemp']);

export function sensorKind(driver: string): SensorKind {
  if (CPU_DRIVERS.has(driver)) return 'cpu';
  if (DISK_DRIVERS.has(driver)) return 'disk';
  return 'other';
}

/** A temperature file's text (millidegrees) in °C, or undefined when it is not a number. */
export function parseMillidegrees(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  return Number(t) / 1000;
}

async function readText(file: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return await readFile(file, { encoding: 'utf8', signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    return undefined;
  }
}

/**
 * Every temperature sensor under `<sysfs>/class/hwmon`, sorted by chip and sensor. An empty
 * list when there is no hwmon class (containers without /sys, virtual machines): no sensor
 * means no series, never a 0. A sensor whose input cannot be read (the driver answers
 * ENODATA or EIO for a missing probe) is left out.
 */
export async function readTemperatures(sysfs: string, signal?: AbortSignal): Promise<TemperatureSensor[]> {
  const root = join(sysfs, 'class', 'hwmon');
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    return [];
  }
  const chips = await Promise.all(
    entries.filter((e) => /^hwmon\d+$/.test(e)).map((e) => readChip(join(root, e), signal)),
  );
  const out = chips.flat();
  // Two chips of one driver without a device link would share a name: number them.
  const seen = new Map<string, number>();
  for (const s of out) {
    const key = `${s.chip}\u0000${s.sensor}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n > 1) s.sensor = `${s.sensor} (${n})`;
  }
  return out.sort((a, b) => compare(a.chip, b.chip) || compare(a.sensor, b.sensor));
}

async function readChip(dir: string, signal?: AbortSignal): Promise<TemperatureSensor[]> {
  // Attributes live in hwmonN/ or, for drivers older than Linux 3.x's hwmon rework, in hwmonN/device/.
  let attrDir = dir;
  let driver = (await readText(join(dir, 'name'), signal))?.trim();
  if (driver === undefined) {
    attrDir = join(dir, 'device');
    driver = (await readText(join(attrDir, 'name'), signal))?.trim();
  }
  if (driver === undefined || driver === '') return [];
  let device: string | undefined;
  try {
    device = basename(await readlink(join(dir, 'device')));
  } catch {
    device = undefined;
  }
  const chip = device ? `${driver}_${device}` : driver;
  let files: string[];
  try {
    files = await readdir(attrDir);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    return [];
  }
  const indexes = files
    .map((f) => /^temp(\d+)_input$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort((a, b) => Number(a) - Number(b));
  const sensors = await Promise.all(
    indexes.map(async (n): Promise<TemperatureSensor | undefined> => {
      const file = (suffix: string) => join(attrDir, `temp${n}_${suffix}`);
      const [input, label, max, crit] = await Promise.all([
        readText(file('input'), signal),
        files.includes(`temp${n}_label`) ? readText(file('label'), signal) : undefined,
        files.includes(`temp${n}_max`) ? readText(file('max'), signal) : undefined,
        files.includes(`temp${n}_crit`) ? readText(file('crit'), signal) : undefined,
      ]);
      const celsius = parseMillidegrees(input);
      if (celsius === undefined) return undefined;
      const name = label?.trim();
      return {
        chip,
        sensor: name !== undefined && name !== '' ? name : `temp${n}`,
        kind: sensorKind(driver),
        celsius,
        maxCelsius: plausibleLimit(parseMillidegrees(max)),
        critCelsius: plausibleLimit(parseMillidegrees(crit)),
      };
    }),
  );
  return sensors.filter((s): s is TemperatureSensor => s !== undefined);
}

/**
 * Some drivers write a limit they do not have as 0 or as a huge value (255 °C, or
 * 0x7fffffff millidegrees); only a limit between 20 °C and 150 °C is taken as the chip's own.
 */
function plausibleLimit(celsius: number | undefined): number | undefined {
  if (celsius === undefined || celsius <= 20 || celsius >= 150) return undefined;
  return celsius;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
