import { commandLine, imageBase, type Detector } from './types.js';

/**
 * MediaMTX (bluenviron/mediamtx, aler9/rtsp-simple-server) as a stream server, read through
 * its control API on port 9997. The API is off by default (`api: no`) and, once on, its
 * default `authInternalUsers` grant the `api` action only to 127.0.0.1 and ::1: from the
 * exporter's container every request is refused until mediamtx.yml lets a user in. The
 * generated comment says exactly what to add.
 */
export const detectMediamtx: Detector = (svc) => {
  const base = imageBase(svc);
  if (!(
    base === 'mediamtx' ||
    base === 'rtsp-simple-server' ||
    /(^|\/)mediamtx(\s|$)/.test(commandLine(svc))
  ))
    return [];
  return [
    {
      section: 'streams.servers',
      service: svc.name,
      pos: svc.pos,
      comment: [
        `MediaMTX (${svc.image?.value ?? 'mediamtx'}): its API answers only 127.0.0.1 and ::1 by default, so`,
        'the exporter is refused until mediamtx.yml (or MTX_* variables) turns it on and lets a user in:',
        '  api: yes',
        '  authInternalUsers:          # keep the existing entries, add:',
        '    - user: watchpost',
        '      pass: <a long random password, also written to watchpost/secrets/mediamtx_api_password>',
        '      ips: []',
        '      permissions: [{ action: api }]',
        'then add to this entry: username: watchpost, password_file: /run/secrets/mediamtx_api_password',
      ],
      item: { name: svc.name, kind: 'mediamtx', url: `http://${svc.name}:9997` },
    },
  ];
};
