#!/usr/bin/env bash
# Builds, without any registry, the images the overlay test runs:
#   watchpost-local/node:20           a Node base made from this host's node binary (and npm, for the
#                           Dockerfile's build stage), the libraries ldd lists, /etc/passwd
#                           with the watchpost user (10001) and an empty /tmp
#   watchpost-local/prometheus:2.42      Debian's /usr/bin/prometheus (+ promtool), run as nobody (65534)
#                           like the official prom/prometheus image
#   watchpost-local/alertmanager:0.25    Debian's /usr/bin/prometheus-alertmanager (+ amtool), as nobody
#   watchpost-local/victoria-metrics:1.79  Debian's /usr/bin/victoria-metrics, run as root with no data
#                           folder of its own, like the official victoriametrics/victoria-metrics image
#   watchpost-local/vmagent:1.79      Debian's /usr/bin/vmagent, run as root with no data folder of
#                           its own, like the official victoriametrics/vmagent image
#   watchpost-local/watchpost:test    the repository's Dockerfile built on watchpost-local/node:20
# Production builds pull the pinned images the Dockerfile and the overlay name; these local
# ones exist because this machine has no registry. dockerd may run with --iptables=false
# (no default bridge network), so `docker build` runs with --network host: the build stage's
# `npm ci` needs the npm registry.
# Usage: scripts/build-local-images.sh [node|prometheus|alertmanager|victoria-metrics|vmagent|watchpost]...
# (default: node prometheus alertmanager watchpost; the central host's test adds victoria-metrics,
# the site's vmagent)
# The base images are made only when missing (FORCE=1 remakes them); the watchpost image is
# built every time, from Docker's layer cache when nothing changed. Needs root (docker), node, ldd,
# prometheus, prometheus-alertmanager and victoria-metrics (scripts/install-system-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_IMAGE=${WATCHPOST_LOCAL_NODE_IMAGE:-watchpost-local/node:20}
PROM_IMAGE=${WATCHPOST_LOCAL_PROMETHEUS_IMAGE:-watchpost-local/prometheus:2.42}
AM_IMAGE=${WATCHPOST_LOCAL_ALERTMANAGER_IMAGE:-watchpost-local/alertmanager:0.25}
VM_IMAGE=${WATCHPOST_LOCAL_VICTORIAMETRICS_IMAGE:-watchpost-local/victoria-metrics:1.79}
VMAGENT_IMAGE=${WATCHPOST_LOCAL_VMAGENT_IMAGE:-watchpost-local/vmagent:1.79}
WATCHPOST_IMAGE=${WATCHPOST_LOCAL_IMAGE:-watchpost-local/watchpost:test}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

# Copies a binary and every library ldd lists into $1, keeping their paths.
copy_with_libs() {
  local root=$1 bin=$2
  mkdir -p "$root$(dirname "$bin")"
  cp -L "$bin" "$root$bin"
  ldd "$bin" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# /etc/passwd and /etc/group with root, nobody and watchpost; an empty, sticky /tmp.
base_files() {
  local root=$1
  mkdir -p "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nwatchpost:x:10001:10001:watchpost:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nwatchpost:x:10001:\n' >"$root/etc/group"
  # Go and glibc resolve names through nsswitch; without it "localhost" may not resolve.
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

build_node() {
  have "$NODE_IMAGE" && return 0
  local root=$work/node node
  node=$(readlink -f "$(command -v node)")
  copy_with_libs "$root" "$node"
  [ "$node" = /usr/bin/node ] || { mkdir -p "$root/usr/bin"; ln -sf "$node" "$root/usr/bin/node"; }
  base_files "$root"
  # npm, for the Dockerfile's build stage (`npm ci`); the runtime stage never calls it.
  local npm_dir
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$root/usr/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  # The build stage's RUN needs sh, and npm's `#!/usr/bin/env node` needs env: busybox gives both.
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  ln -sf busybox "$root/bin/sh"
  ln -sf ../../bin/busybox "$root/usr/bin/env"
  # The host's trust store, so the build stage's `npm ci` trusts what the host trusts (a proxy's CA).
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$NODE_IMAGE" >/dev/null
  echo "build-local-images: $NODE_IMAGE from $node ($(node --version))"
}

# A Prometheus-style image: the binary, its libraries, a config and a data folder owned by nobody.
build_prom_like() {
  local image=$1 bin=$2 tool=$3 name=$4 data=$5
  shift 5
  have "$image" && return 0
  local root=$work/$name
  copy_with_libs "$root" "$bin"
  [ -x "$tool" ] && copy_with_libs "$root" "$tool"
  base_files "$root"
  mkdir -p "$root/etc/$name" "$root$data"
  chown 65534:65534 "$root$data"
  # The official images are busybox-based: the overlay's healthchecks use its wget.
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for c in sh wget; do ln -sf busybox "$root/bin/$c"; done
  tar -C "$root" -c . | docker import \
    --change 'USER 65534:65534' \
    --change "WORKDIR $data" \
    --change "VOLUME [\"$data\"]" \
    --change "ENTRYPOINT [\"$bin\"]" \
    "$@" - "$image" >/dev/null
  echo "build-local-images: $image from $bin"
}

build_prometheus() {
  build_prom_like "$PROM_IMAGE" /usr/bin/prometheus /usr/bin/promtool prometheus /prometheus \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml","--storage.tsdb.path=/prometheus"]'
}

build_alertmanager() {
  # Debian's Alertmanager reads its default templates from here.
  mkdir -p "$work/alertmanager/usr/share/prometheus"
  cp -a /usr/share/prometheus/alertmanager "$work/alertmanager/usr/share/prometheus/"
  build_prom_like "$AM_IMAGE" /usr/bin/prometheus-alertmanager /usr/bin/amtool alertmanager /alertmanager \
    --change 'CMD ["--config.file=/etc/alertmanager/alertmanager.yml","--storage.path=/alertmanager"]'
}

# The official image is Alpine with the binary at / and no USER: it runs as root, and its data
# folder is whatever -storageDataPath names. This one keeps that (no USER, no data folder), so
# the overlay's non-root user and data folder are tested as they are in production; busybox
# gives the wget of the overlay's healthcheck, as Alpine's does.
build_victoriametrics() {
  have "$VM_IMAGE" && return 0
  local root=$work/victoria-metrics
  copy_with_libs "$root" /usr/bin/victoria-metrics
  base_files "$root"
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for c in sh wget; do ln -sf busybox "$root/bin/$c"; done
  tar -C "$root" -c . | docker import \
    --change 'ENTRYPOINT ["/usr/bin/victoria-metrics"]' \
    --change 'EXPOSE 8428' \
    - "$VM_IMAGE" >/dev/null
  echo "build-local-images: $VM_IMAGE from /usr/bin/victoria-metrics"
}

# Like victoria-metrics above: the official vmagent image is Alpine with the binary at /, no USER
# and no data folder, and the CA bundle that verifies the central host; busybox gives the wget of
# the overlay's healthcheck, as Alpine's does.
build_vmagent() {
  have "$VMAGENT_IMAGE" && return 0
  local root=$work/vmagent
  copy_with_libs "$root" /usr/bin/vmagent
  base_files "$root"
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for c in sh wget; do ln -sf busybox "$root/bin/$c"; done
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
  tar -C "$root" -c . | docker import \
    --change 'ENTRYPOINT ["/usr/bin/vmagent"]' \
    --change 'EXPOSE 8429' \
    - "$VMAGENT_IMAGE" >/dev/null
  echo "build-local-images: $VMAGENT_IMAGE from /usr/bin/vmagent"
}

build_watchpost() {
  # Always built (the sources change; Docker's layer cache keeps an unchanged build quick),
  # and the image it replaces is removed so rebuilds leave nothing dangling.
  build_node
  local old new
  old=$(docker image inspect -f '{{.Id}}' "$WATCHPOST_IMAGE" 2>/dev/null || true)
  docker build --network host --quiet \
    --build-arg "NODE_IMAGE=$NODE_IMAGE" \
    -t "$WATCHPOST_IMAGE" . >/dev/null
  new=$(docker image inspect -f '{{.Id}}' "$WATCHPOST_IMAGE")
  if [ -n "$old" ] && [ "$old" != "$new" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
  echo "build-local-images: $WATCHPOST_IMAGE from the Dockerfile on $NODE_IMAGE"
}

targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(node prometheus alertmanager watchpost)
for t in "${targets[@]}"; do
  case "$t" in
    node) build_node ;;
    prometheus) build_prometheus ;;
    alertmanager) build_alertmanager ;;
    victoria-metrics) build_victoriametrics ;;
    vmagent) build_vmagent ;;
    watchpost) build_watchpost ;;
    *) echo "build-local-images: unknown image \"$t\" (node, prometheus, alertmanager, victoria-metrics, vmagent, watchpost)" >&2; exit 2 ;;
  esac
done
