#!/usr/bin/env bash
# Runs a command with the system programs the tests use hidden from PATH, as on a fresh
# machine that has only Node.js: the tests that need them must skip (outside CI) with a
# message naming scripts/install-system-deps.sh, and everything else must pass.
# Usage: scripts/without-system-programs.sh npm test
set -euo pipefail
HIDDEN=(promtool prometheus prometheus-alertmanager amtool prometheus-node-exporter docker dockerd
  docker-compose nginx ffmpeg ffprobe mtail busybox)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    name=${f##*/}
    [ -x "$f" ] && [ ! -d "$f" ] || continue
    [ -e "$bin/$name" ] && continue
    for h in "${HIDDEN[@]}"; do [ "$name" = "$h" ] && continue 2; done
    ln -s "$f" "$bin/$name"
  done
done
for h in "${HIDDEN[@]}"; do
  if PATH="$bin" command -v "$h" >/dev/null 2>&1; then
    echo "without-system-programs: $h is still reachable" >&2
    exit 1
  fi
done
echo "without-system-programs: hiding ${HIDDEN[*]}"
# Not CI: a missing program must skip, loudly, instead of failing.
env -u CI PATH="$bin" "$@"
