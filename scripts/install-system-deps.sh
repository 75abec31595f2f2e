#!/usr/bin/env bash
# Installs the system programs that watchpost's tests and benchmarks run for real:
#   promtool (prometheus)        checks the /metrics output and unit-tests alert rules
#   prometheus-node-exporter     the reference the scrape benchmark measures against
#   prometheus-alertmanager      Alertmanager and amtool: the shipped alertmanager.yml runs for real
#   docker.io, busybox-static    a real Docker Engine for the containers collector's tests
#                                and benchmark (scripts/start-dockerd.sh starts it and
#                                imports the test image from busybox-static)
#   nginx-light, libnginx-mod-rtmp, ffmpeg
#                                nginx-rtmp and FFmpeg for the streams and ffmpeg collectors
#   mtail                        the reference the logs benchmark measures against (not run as a service)
#   time                         /usr/bin/time -v: peak memory of the programs a benchmark compares
#   docker-compose               Compose 1.29: the overlay's e2e test and benchmark bring the stack up with it
#   victoria-metrics             the central long-term store of the sites e2e test (test/e2e/sites-push.test.ts),
#                                and the binary of the local VictoriaMetrics image the central host's test starts
#   openssl                      throwaway CAs and certificates for the TLS tests (exporter, write proxy)
# Debian/Ubuntu, as root (or through sudo). Safe to run again.
set -euo pipefail

PACKAGES=(prometheus prometheus-alertmanager prometheus-node-exporter docker.io docker-compose busybox-static nginx-light libnginx-mod-rtmp ffmpeg mtail time victoria-metrics openssl)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-deps: all present (${PACKAGES[*]})"
  exit 0
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Debian's packages start their own services on some machines; the tests never use
# them (they start their own instances on free loopback ports), so stop them again
# when a service manager is present.
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
for svc in prometheus prometheus-alertmanager prometheus-node-exporter nginx mtail victoria-metrics; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
