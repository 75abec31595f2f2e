import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseMillidegrees, readTemperatures, sensorKind } from './hwmon.js';

const SYSFS = fileURLToPath(new URL('./fixtures/hwmon/sys/', import.meta.url));

describe('readTemperatures', () => {
  it('reads every temperature sensor of the fixture chips, named by driver and device', async () => {
    assert.deepEqual(await readTemperatures(SYSFS), [
      {
        chip: 'acpitz_LNXTHERM:00',
        sensor: 'temp1',
        kind: 'other',
        celsius: 27.8,
        maxCelsius: undefined,
        critCelsius: 105,
      },
      {
        chip: 'coretemp_coretemp.0',
        sensor: 'Core 0',
        kind: 'cpu',
        celsius: 45,
        maxCelsius: 80,
        critCelsius: 100,
      },
      {
        chip: 'coretemp_coretemp.0',
        sensor: 'Core 1',
        kind: 'cpu',
        celsius: 46,
        maxCelsius: 80,
        critCelsius: 100,
      },
      {
        chip: 'coretemp_coretemp.0',
        sensor: 'Package id 0',
        kind: 'cpu',
        celsius: 47,
        maxCelsius: 80,
        critCelsius: 100,
      },
      {
        chip: 'drivetemp_0:0:0:0',
        sensor: 'temp1',
        kind: 'disk',
        celsius: 34,
        maxCelsius: 60,
        critCelsius: 70,
      },
      {
        chip: 'k10temp_0000:00:18.3',
        sensor: 'Tccd1',
        kind: 'cpu',
        celsius: 49.5,
        maxCelsius: undefined,
        critCelsius: undefined,
      },
      {
        chip: 'k10temp_0000:00:18.3',
        sensor: 'Tctl',
        kind: 'cpu',
        celsius: 52.375,
        maxCelsius: undefined,
        critCelsius: undefined,
      },
      {
        chip: 'nvme_nvme0',
        sensor: 'Composite',
        kind: 'disk',
        celsius: 38.85,
        maxCelsius: 81.85,
        critCelsius: 84.85,
      },
      // The driver's 65261.85 °C "no limit" is not taken as a limit.
      {
        chip: 'nvme_nvme0',
        sensor: 'Sensor 1',
        kind: 'disk',
        celsius: 38.85,
        maxCelsius: undefined,
        critCelsius: undefined,
      },
    ]);
  });

  it('returns no sensor, not a zero, where there is no hwmon class (this VM, a container without /sys)', async () => {
    assert.deepEqual(await readTemperatures('/nonexistent-sysfs'), []);
  });

  it('skips a sensor whose input cannot be read, and reads attributes an old driver keeps in device/', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-hwmon-'));
    try {
      const chip = join(dir, 'class', 'hwmon', 'hwmon7');
      mkdirSync(join(chip, 'device'), { recursive: true });
      writeFileSync(join(chip, 'device', 'name'), 'it87\n');
      writeFileSync(join(chip, 'device', 'temp1_input'), '41000\n');
      // A probe that is not connected: some drivers answer ENODATA; here, text that is no number.
      writeFileSync(join(chip, 'device', 'temp2_input'), '\n');
      // Not a hwmonN entry: ignored.
      mkdirSync(join(dir, 'class', 'hwmon', 'notachip'));
      assert.deepEqual(await readTemperatures(dir), [
        {
          chip: 'it87',
          sensor: 'temp1',
          kind: 'other',
          celsius: 41,
          maxCelsius: undefined,
          critCelsius: undefined,
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells two chips of one driver apart when neither has a device link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-hwmon-'));
    try {
      for (const [n, t] of [
        ['hwmon0', '30000'],
        ['hwmon1', '31000'],
      ]) {
        const chip = join(dir, 'class', 'hwmon', n!);
        mkdirSync(chip, { recursive: true });
        writeFileSync(join(chip, 'name'), 'cpu_thermal\n');
        writeFileSync(join(chip, 'temp1_input'), `${t}\n`);
      }
      const sensors = await readTemperatures(dir);
      assert.deepEqual(
        sensors.map((s) => [s.chip, s.sensor, s.kind]),
        [
          ['cpu_thermal', 'temp1', 'cpu'],
          ['cpu_thermal', 'temp1 (2)', 'cpu'],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hwmon helpers', () => {
  it('reads millidegrees, negative ones too, and nothing else', () => {
    assert.equal(parseMillidegrees('45000\n'), 45);
    assert.equal(parseMillidegrees('-5500'), -5.5);
    assert.equal(parseMillidegrees(''), undefined);
    assert.equal(parseMillidegrees('N/A'), undefined);
    assert.equal(parseMillidegrees(undefined), undefined);
  });

  it('classifies drivers as cpu, disk or other', () => {
    assert.equal(sensorKind('coretemp'), 'cpu');
    assert.equal(sensorKind('k10temp'), 'cpu');
    assert.equal(sensorKind('cpu_thermal'), 'cpu');
    assert.equal(sensorKind('nvme'), 'disk');
    assert.equal(sensorKind('drivetemp'), 'disk');
    assert.equal(sensorKind('acpitz'), 'other');
    assert.equal(sensorKind('amdgpu'), 'other');
  });
});
