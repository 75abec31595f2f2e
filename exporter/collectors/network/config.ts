import { z } from 'zod';
import {
  checkTimeout,
  collectorBase,
  regex,
  type SchemaContext,
  sourceField,
} from '../../../config/fields.js';

/** Loopback and the interfaces Docker makes: a bridge per network and a veth per container. */
export const DEFAULT_EXCLUDED_DEVICES = '^(lo|veth.*|docker.*|br-.*)$';

/** An interface name as the kernel allows it: not empty, no "/", no whitespace, not "." or "..". */
const deviceName = z
  .string({ error: 'expected an interface name such as "eth0"' })
  .regex(/^[^/\s]+$/, { error: 'expected an interface name such as "eth0": no "/" and no spaces' })
  .refine((s) => s !== '.' && s !== '..', { error: 'expected an interface name such as "eth0"' });

/** The settings of the network collector: `collectors.network` in watchpost.yml. */
export function networkSchema(_ctx: SchemaContext) {
  const network = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '5s' }),
      source: sourceField(
        'procfs',
        'Where counters and link state come from: procfs reads <procfs>/1/net/dev and <sysfs>/class/net (Linux); systeminformation works on macOS, the BSDs and Windows but has no packet counters; auto picks procfs on Linux.',
      ),
      exclude_devices: regex('the excluded network interfaces')
        .default(DEFAULT_EXCLUDED_DEVICES)
        .describe(
          "Interfaces never reported unless expected: loopback and Docker's bridges and veths by default.",
        ),
      expected: z
        .array(deviceName)
        .default([])
        .describe(
          'Interfaces that must exist and have a link; NetworkInterfaceDown fires when one is down or missing.',
        ),
    })
    .superRefine(checkTimeout)
    .prefault({});
  return network;
}
