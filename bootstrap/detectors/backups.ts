import { commandLine, imageBase, imageRepo, type Detector } from './types.js';

/**
 * Sync and backup jobs (rclone, restic, pg_dump, mysqldump, borg, kopia, cron/ofelia
 * containers) become commented backup-check suggestions: watchpost can only judge a backup
 * by its files (or by a marker the job writes after a success), and which folder that is,
 * and how it is mounted into the exporter, only the user knows.
 */
const TOOLS: { test: RegExp; what: string }[] = [
  { test: /\brclone\b/, what: 'rclone' },
  { test: /\brestic\b/, what: 'restic' },
  { test: /\bpg_dump(all)?\b|postgres-backup|pgbackrest/, what: 'pg_dump' },
  { test: /\b(mysqldump|mariadb-dump)\b|mysql-backup/, what: 'mysqldump' },
  { test: /\bborg(matic)?\b/, what: 'borg' },
  { test: /\bkopia\b/, what: 'kopia' },
  { test: /\bduplicity\b/, what: 'duplicity' },
  { test: /\b(crond?|ofelia|supercronic|crontab)\b/, what: 'cron' },
  { test: /\bdb-backup\b|\bbackup\b/, what: 'backup' },
];

export function backupTool(text: string): string | undefined {
  return TOOLS.find((t) => t.test.test(text))?.what;
}

export const detectBackup: Detector = (svc) => {
  const text = `${imageRepo(svc)} ${imageBase(svc)} ${commandLine(svc)} ${svc.name}`;
  const tool = backupTool(text);
  if (!tool) return [];
  const sync = tool === 'rclone';
  const folder =
    svc.volumes.find((v) => /backup|dump|archive|snapshot/i.test(`${v.target} ${v.source ?? ''}`))?.target ??
    '/backups';
  const name = /^[A-Za-z0-9]/.test(svc.name) ? svc.name : `backup-${svc.name}`;
  const suggestion: Record<string, string> = sync
    ? { name, marker: '/state/last-success', max_age: '2h' }
    : { name, path: `${folder.replace(/\/+$/, '')}/*`, max_age: '26h', min_size: '1KiB' };
  return [
    {
      section: 'backups.checks',
      service: svc.name,
      pos: svc.command?.pos ?? svc.image?.pos ?? svc.pos,
      comment: sync
        ? [
            'rclone sync job: have it write the time after each success, e.g. `rclone sync ... && date +%s > /state/last-success`,',
            'mount that folder into the exporter, then uncomment (the alert fires when the marker is older than max_age):',
          ]
        : [
            `${tool} backup job: mount its output folder (${folder}) into the exporter read-only, adjust the pattern and`,
            'max_age to its schedule, then uncomment (the alert fires when the newest file is older or too small):',
          ],
      commented: suggestion,
    },
  ];
};
