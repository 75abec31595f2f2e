#!/usr/bin/env bash
# Makes sure a Docker Engine answers for the container tests and benchmark, and that the
# test image local/busybox:1 exists (there is no registry to pull from: it is imported
# from the busybox-static binary). Starts dockerd in the background only when
# `docker info` fails (log: /tmp/watchpost-dockerd.log). Safe to run again.
# Needs scripts/install-system-deps.sh (docker.io, busybox-static) first; root.
set -euo pipefail

IMAGE=${WATCHPOST_TEST_IMAGE:-local/busybox:1}
LOG=/tmp/watchpost-dockerd.log

if ! docker info >/dev/null 2>&1; then
  echo "start-dockerd: starting dockerd (log: $LOG)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  # --iptables=false: the tests use --network none and need no NAT rules.
  $SUDO sh -c "nohup dockerd --iptables=false >>'$LOG' 2>&1 &"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    echo "start-dockerd: dockerd did not answer within 30 s; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
fi
echo "start-dockerd: $(docker version --format 'Docker Engine {{.Server.Version}}') answers"

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  # busybox-static's binary runs in an empty root filesystem (no libc needed).
  busybox=/bin/busybox
  if [ ! -x "$busybox" ]; then
    echo "start-dockerd: $busybox missing: run scripts/install-system-deps.sh (busybox-static)" >&2
    exit 1
  fi
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin"
  cp "$busybox" "$root/bin/busybox"
  for c in sh sleep true false cat; do ln -sf busybox "$root/bin/$c"; done
  tar -C "$root" -c . | docker import - "$IMAGE" >/dev/null
  echo "start-dockerd: built $IMAGE from $busybox"
fi
