import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gatherSensors, thresholdFor } from './gather.js';

const SYSFS = fileURLToPath(new URL('../../sources/fixtures/hwmon/sys/', import.meta.url));
const signal = new AbortController().signal;

describe('gatherSensors', () => {
  it("gives each sensor the chip's max, else its crit, else 90 °C for a CPU and 60 °C for a disk", async () => {
    const rows = await gatherSensors({ source: 'sysfs', sysfs: SYSFS, thresholds: {} }, signal);
    assert.deepEqual(
      rows.map((r) => [r.sensor.chip, r.sensor.sensor, r.thresholdCelsius]),
      [
        ['acpitz_LNXTHERM:00', 'temp1', 105], // crit only
        ['coretemp_coretemp.0', 'Core 0', 80], // max
        ['coretemp_coretemp.0', 'Core 1', 80],
        ['coretemp_coretemp.0', 'Package id 0', 80],
        ['drivetemp_0:0:0:0', 'temp1', 60],
        ['k10temp_0000:00:18.3', 'Tccd1', 90], // no limits: the CPU default
        ['k10temp_0000:00:18.3', 'Tctl', 90],
        ['nvme_nvme0', 'Composite', 81.85],
        ['nvme_nvme0', 'Sensor 1', 60], // the driver's "no limit": the disk default
      ],
    );
  });

  it('uses the configured threshold of a kind over the limits of the chip', async () => {
    const rows = await gatherSensors({ source: 'sysfs', sysfs: SYSFS, thresholds: { cpu: 75 } }, signal);
    const cpu = rows.filter((r) => r.sensor.kind === 'cpu');
    assert.equal(cpu.length, 5);
    assert.ok(cpu.every((r) => r.thresholdCelsius === 75));
    assert.equal(rows.find((r) => r.sensor.chip === 'nvme_nvme0')!.thresholdCelsius, 81.85);
  });

  it('gives a sensor of another kind without limits no threshold at all', () => {
    const s = {
      chip: 'it87',
      sensor: 'temp1',
      kind: 'other' as const,
      celsius: 40,
      maxCelsius: undefined,
      critCelsius: undefined,
    };
    assert.equal(thresholdFor(s, {}), undefined);
    assert.equal(thresholdFor(s, { other: 70 }), 70);
  });

  it('reports nothing on a host without sensors (this VM), through sysfs or systeminformation', async () => {
    assert.deepEqual(
      await gatherSensors({ source: 'sysfs', sysfs: '/nonexistent', thresholds: {} }, signal),
      [],
    );
    if (process.platform === 'linux') {
      // systeminformation reads the same /sys/class/hwmon on Linux: no sensor here, no row.
      const real = await gatherSensors(
        { source: 'systeminformation', sysfs: '/sys', thresholds: {} },
        signal,
      );
      const viaSysfs = await gatherSensors({ source: 'sysfs', sysfs: '/sys', thresholds: {} }, signal);
      if (viaSysfs.length === 0) assert.deepEqual(real, []);
    }
  });
});
