import { z } from 'zod';
import { checkTimeout, collectorBase, type SchemaContext } from '../../../config/fields.js';

/** The settings of the host collector: `collectors.host` in watchpost.yml. */
export function hostSchema(_ctx: SchemaContext) {
  const host = z
    .strictObject({ ...collectorBase({ interval: '15s', timeout: '5s' }) })
    .superRefine(checkTimeout)
    .prefault({});
  return host;
}

export type HostSettings = z.output<ReturnType<typeof hostSchema>>;
