import type { ComposeVolume } from '../../bootstrap/compose.js';
import { perService, type Rule } from '../types.js';

const SOCKET = /(^|\/)(docker|podman)\.sock$/;
const isSocket = (v: ComposeVolume) => v.source !== undefined && SOCKET.test(v.source);

export const dockerSocketRw: Rule = {
  id: 'docker-socket-rw',
  severity: 'error',
  title: 'The Docker socket mounted read-write',
  rationale:
    "Whoever can talk to the Docker socket can start a privileged container with the host's / mounted: it is root on the host. A service with the socket turns any bug in it into a host takeover.",
  fix: 'Remove the mount. If the service only reads container state, give it a socket proxy that allows only the GET endpoints it needs (e.g. tecnativa/docker-socket-proxy) instead.',
  check: perService((svc) =>
    svc.volumes
      .filter((v) => isSocket(v) && !v.readOnly)
      .map((v) => ({
        pos: v.pos,
        service: svc.name,
        message: `the Docker socket is mounted read-write ("${v.text}")`,
      })),
  ),
};

export const dockerSocketRo: Rule = {
  id: 'docker-socket-ro',
  severity: 'warning',
  title: 'The Docker socket mounted read-only',
  rationale:
    'A read-only bind mount only stops the file from being replaced: the Docker API behind it still accepts every request, including creating a privileged container. ":ro" does not make the API read-only.',
  fix: "Put a socket proxy that allows only GET requests of the endpoints the service uses between it and the socket, or accept the risk for a trusted, hardened service (as watchpost's exporter documents in docs/deploy.md).",
  check: perService((svc) =>
    svc.volumes
      .filter((v) => isSocket(v) && v.readOnly)
      .map((v) => ({
        pos: v.pos,
        service: svc.name,
        message: `the Docker socket is mounted (read-only does not make the Docker API read-only)`,
      })),
  ),
};
