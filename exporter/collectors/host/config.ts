import { z } from 'zod';
import { checkTimeout, collectorBase, type SchemaContext, sourceField } from '../../../config/fields.js';

/** The settings of the host collector: `collectors.host` in watchpost.yml. */
export function hostSchema(_ctx: SchemaContext) {
  const host = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '5s' }),
      source: sourceField(
        'procfs',
        "Where CPU, memory, load and uptime come from: procfs reads <procfs>/stat, meminfo, loadavg and uptime (Linux, the fast path); systeminformation (memory) and Node's os module (CPU times, load, uptime) work on macOS, the BSDs and Windows, without the Linux-only CPU modes; auto picks procfs on Linux.",
      ),
    })
    .superRefine(checkTimeout)
    .prefault({});
  return host;
}
