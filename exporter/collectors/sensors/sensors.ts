import { Snapshot, sourceOnThisSystem, type Collector, type CollectorDeps } from '../../collector.js';
import { gatherSensors, type SensorRow, type SensorsOptions } from './gather.js';
import * as m from './metrics.js';

/**
 * Hardware temperatures (after node_exporter's hwmon collector): CPU packages and cores,
 * NVMe and SATA drives, and whatever else the host's hwmon drivers report, each with the
 * threshold its alert uses. A host without sensors (most virtual machines) has no series.
 */
export class SensorsCollector implements Collector {
  readonly name = 'sensors';
  readonly families = m.FAMILIES;

  private readonly options: SensorsOptions;

  constructor(deps: CollectorDeps) {
    const cfg = deps.config.collectors.sensors;
    this.options = {
      source: sourceOnThisSystem(cfg.source, 'sysfs'),
      sysfs: deps.config.paths.sysfs,
      thresholds: cfg.alert_threshold_celsius,
    };
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    return sensorsSnapshot(await gatherSensors(this.options, signal));
  }
}

export function sensorsSnapshot(rows: readonly SensorRow[]): Snapshot {
  const s = new Snapshot();
  for (const { sensor, thresholdCelsius } of rows) {
    const labels = { chip: sensor.chip, sensor: sensor.sensor, kind: sensor.kind };
    s.add(m.temperature, labels, sensor.celsius);
    if (thresholdCelsius !== undefined) s.add(m.threshold, labels, thresholdCelsius);
  }
  return s;
}
