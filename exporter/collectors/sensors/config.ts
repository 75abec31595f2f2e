import { z } from 'zod';
import { checkTimeout, collectorBase, type SchemaContext, sourceField } from '../../../config/fields.js';

const celsius = z
  .number({ error: 'expected a temperature in °C, such as 85' })
  .gt(0, { error: 'expected a temperature above 0 °C' })
  .lt(150, { error: 'expected a temperature below 150 °C' });

/** The settings of the sensors collector: `collectors.sensors` in watchpost.yml. */
export function sensorsSchema(_ctx: SchemaContext) {
  const sensors = z
    .strictObject({
      ...collectorBase({ interval: '30s', timeout: '10s' }),
      source: sourceField(
        'sysfs',
        'Where temperatures come from: sysfs reads <sysfs>/class/hwmon (Linux); systeminformation reads CPU temperatures on other systems; auto picks sysfs on Linux.',
      ),
      alert_threshold_celsius: z
        .strictObject({ cpu: celsius.optional(), disk: celsius.optional(), other: celsius.optional() })
        .default({})
        .describe(
          'Alert thresholds per kind of sensor, overriding the limits the chips report; exported as watchpost_temperature_alert_threshold_celsius.',
        ),
    })
    .superRefine(checkTimeout)
    .prefault({});
  return sensors;
}
