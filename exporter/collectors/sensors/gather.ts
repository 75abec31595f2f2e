import { readTemperatures, type SensorKind, type TemperatureSensor } from '../../sources/hwmon.js';
import { siCpuTemperatures } from '../../sources/systeminformation.js';

/**
 * What the sensors collector reports: every temperature sensor with the threshold its alert
 * uses, gathered apart from writing metrics so that each half is tested alone.
 */
export interface SensorRow {
  sensor: TemperatureSensor;
  /** Absent for a sensor of kind "other" without limits of its own: it never alerts. */
  thresholdCelsius?: number;
}

export type SensorsSource = 'sysfs' | 'systeminformation';

export interface SensorsOptions {
  source: SensorsSource;
  sysfs: string;
  /** Thresholds per kind from the config; they override the chip's own limits. */
  thresholds: Partial<Record<SensorKind, number>>;
}

/**
 * Without a configured threshold or limits of the chip's own: the temperature above which
 * a CPU throttles on most parts (Intel's TjMax is 100 °C, AMD's Tctl max 95 °C) less a
 * margin, and the highest operating temperature most hard disks are rated for.
 */
export const DEFAULT_THRESHOLDS: Readonly<Partial<Record<SensorKind, number>>> = { cpu: 90, disk: 60 };

/**
 * The alert threshold of one sensor: the configured one for its kind, else the chip's max,
 * else its crit, else the default for its kind, else none.
 */
export function thresholdFor(
  sensor: TemperatureSensor,
  configured: Partial<Record<SensorKind, number>>,
): number | undefined {
  return (
    configured[sensor.kind] ?? sensor.maxCelsius ?? sensor.critCelsius ?? DEFAULT_THRESHOLDS[sensor.kind]
  );
}

export async function gatherSensors(opts: SensorsOptions, signal: AbortSignal): Promise<SensorRow[]> {
  signal.throwIfAborted();
  const sensors =
    opts.source === 'sysfs' ? await readTemperatures(opts.sysfs, signal) : await siCpuTemperatures();
  signal.throwIfAborted();
  return sensors.map((sensor) => {
    const threshold = thresholdFor(sensor, opts.thresholds);
    return threshold === undefined ? { sensor } : { sensor, thresholdCelsius: threshold };
  });
}
