import { commandLine, containerPorts, imageBase, imageRepo, type Detector } from './types.js';

/**
 * nginx with the RTMP module (tiangolo/nginx-rtmp, alfg/nginx-rtmp, any image with
 * "rtmp" in its name, or an nginx publishing port 1935) as a stream server, read through
 * its `rtmp_stat all` page. The page must exist in nginx.conf and nginx must run one
 * worker (with more, the page shows only the worker that answered).
 */
export const detectNginxRtmp: Detector = (svc) => {
  const repo = imageRepo(svc);
  const base = imageBase(svc);
  const ports = containerPorts(svc);
  const rtmp =
    repo.includes('rtmp') ||
    (base.includes('nginx') && ports.includes(1935)) ||
    /nginx-rtmp/.test(commandLine(svc));
  if (!rtmp) return [];
  const http = ports.find((p) => p !== 1935 && p !== 443) ?? 8080;
  return [
    {
      section: 'streams.servers',
      service: svc.name,
      pos: svc.pos,
      comment: [
        `nginx-rtmp (${svc.image?.value ?? 'nginx'}): reads the statistics page, which nginx.conf must serve on port ${http}:`,
        '  location /stat { rtmp_stat all; }   (and worker_processes 1, or the page shows one worker only)',
      ],
      item: { name: svc.name, kind: 'nginx-rtmp', url: `http://${svc.name}:${http}/stat` },
    },
  ];
};
