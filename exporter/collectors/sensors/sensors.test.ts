import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfigText } from '../../../config/load.js';
import { silentLogger } from '../../../internal/log.js';
import { collectSamples, collectText } from '../../../test/samples.js';
import { SensorsCollector } from './sensors.js';

const SYSFS = fileURLToPath(new URL('../../sources/fixtures/hwmon/sys/', import.meta.url));

const make = (yaml: string) =>
  new SensorsCollector({ config: parseConfigText(yaml, 'watchpost.yml', {}), log: silentLogger });

describe('SensorsCollector', () => {
  it('exports each sensor with its alert threshold', async () => {
    const s = await collectSamples(
      make(`paths: { sysfs: "${SYSFS}" }\ncollectors: { sensors: { source: sysfs } }`),
    );
    const L = (chip: string, sensor: string, kind: string) =>
      `{chip="${chip}",sensor="${sensor}",kind="${kind}"}`;
    assert.equal(
      s.get(`watchpost_temperature_celsius${L('coretemp_coretemp.0', 'Package id 0', 'cpu')}`),
      47,
    );
    assert.equal(
      s.get(
        `watchpost_temperature_alert_threshold_celsius${L('coretemp_coretemp.0', 'Package id 0', 'cpu')}`,
      ),
      80,
    );
    assert.equal(s.get(`watchpost_temperature_celsius${L('nvme_nvme0', 'Composite', 'disk')}`), 38.85);
    assert.equal(
      s.get(`watchpost_temperature_alert_threshold_celsius${L('nvme_nvme0', 'Composite', 'disk')}`),
      81.85,
    );
    assert.equal(s.get(`watchpost_temperature_celsius${L('acpitz_LNXTHERM:00', 'temp1', 'other')}`), 27.8);
    assert.equal([...s.keys()].filter((k) => k.startsWith('watchpost_temperature_celsius{')).length, 9);
  });

  it('uses the configured threshold of a kind', async () => {
    const s = await collectSamples(
      make(
        `paths: { sysfs: "${SYSFS}" }\ncollectors: { sensors: { source: sysfs, alert_threshold_celsius: { disk: 55 } } }`,
      ),
    );
    assert.equal(
      s.get(
        'watchpost_temperature_alert_threshold_celsius{chip="nvme_nvme0",sensor="Composite",kind="disk"}',
      ),
      55,
    );
    assert.equal(
      s.get(
        'watchpost_temperature_alert_threshold_celsius{chip="coretemp_coretemp.0",sensor="Core 0",kind="cpu"}',
      ),
      80,
    );
  });

  it('exports no temperature series, not a 0, on a host without sensors', async () => {
    const text = await collectText(
      make('paths: { sysfs: /nonexistent }\ncollectors: { sensors: { source: sysfs } }'),
    );
    assert.equal(
      text,
      '# HELP watchpost_temperature_celsius Temperature of a hardware sensor in degrees Celsius; kind is cpu, disk or other. No series where the host has no sensor.\n' +
        '# TYPE watchpost_temperature_celsius gauge\n\n' +
        "# HELP watchpost_temperature_alert_threshold_celsius Temperature above which HostTemperatureHigh fires for the sensor: the configured threshold of its kind, else the chip's max, else its crit, else 90 for a CPU and 60 for a disk; absent when none applies.\n" +
        '# TYPE watchpost_temperature_alert_threshold_celsius gauge\n',
    );
  });

  it('rejects a threshold that is no temperature, naming the key', () => {
    assert.throws(
      () =>
        parseConfigText('collectors:\n  sensors:\n    alert_threshold_celsius: { cpu: 900 }\n', 'w.yml', {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        /collectors\.sensors\.alert_threshold_celsius\.cpu.*below 150/s.test(String(err)),
    );
    assert.throws(
      () =>
        parseConfigText('collectors:\n  sensors:\n    alert_threshold_celsius: { gpu: 80 }\n', 'w.yml', {}),
      (err: unknown) => err instanceof ConfigError && /gpu/.test(String(err)),
    );
  });
});
