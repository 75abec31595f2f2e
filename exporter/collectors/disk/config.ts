import { z } from 'zod';
import {
  checkTimeout,
  collectorBase,
  duration,
  ratio,
  regex,
  type SchemaContext,
  sourceField,
} from '../../../config/fields.js';

/** Filesystem types that hold no user data or are container internals. */
export const DEFAULT_EXCLUDED_FSTYPES = [
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs',
  'efivarfs', 'fuse.lxcfs', 'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'overlay', 'proc', 'procfs',
  'pstore', 'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
]; // prettier-ignore

/** Kernel/runtime mount points and the files Docker bind-mounts into every container. */
export const DEFAULT_EXCLUDED_MOUNTPOINTS =
  '^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+|var/lib/kubelet/.+|snap/.+)($|/)|^/etc/(hostname|hosts|resolv\\.conf)$';

/** The settings of the disk collector: `collectors.disk` in watchpost.yml. */
export function diskSchema(_ctx: SchemaContext) {
  const disk = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '10s' }),
      source: sourceField(
        'procfs',
        'Where the list of mounted filesystems comes from: procfs reads <procfs>/self/mountinfo (Linux); systeminformation works on macOS, the BSDs and Windows, without major:minor, so bind mounts are told apart by device; auto picks procfs on Linux. Sizes come from statfs either way.',
      ),
      alert_threshold_ratio: ratio
        .default(0.85)
        .describe(
          'Used ratio above which the DiskSpaceLow alert fires; exported as watchpost_filesystem_alert_threshold_ratio.',
        ),
      thresholds: z
        .record(z.string().startsWith('/', { error: 'expected an absolute mount point as key' }), ratio)
        .default({})
        .describe(
          'Per-mount-point thresholds that override alert_threshold_ratio, e.g. {"/srv/recordings": 0.95}.',
        ),
      exclude_fstypes: z.array(z.string()).default(DEFAULT_EXCLUDED_FSTYPES),
      exclude_mountpoints: regex('the excluded mount points').default(DEFAULT_EXCLUDED_MOUNTPOINTS),
      directories: z
        .array(
          z.strictObject({
            path: z.string().startsWith('/', { error: 'expected an absolute path' }),
            interval: duration('the directory scan interval').prefault('5m'),
          }),
        )
        .default([])
        .describe('Folders whose total size is measured on their own slow interval (a recordings folder).'),
    })
    .superRefine(checkTimeout)
    .prefault({});
  return disk;
}
