#!/usr/bin/env bash
# Installs what Casefile's tests and benchmarks need on a fresh Debian 12 machine
# (run as root): Podman + runc + busybox for real containers, containerd for the
# CRI, bpftrace for eBPF, Chromium for the plugin's browser tests, PostgreSQL for
# the server's store, LibreOffice for CSV import checks, and OpenSSH, rsyslog and
# sudo for host forensics. Nothing here fetches or builds Loki or Grafana (AGPL):
# tests use the stand-ins under test/ or a real Loki given by LOKI_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(podman runc busybox-static containerd bpftrace chromium postgresql libreoffice-calc-nogui
  openssh-server openssh-client rsyslog sudo docker-compose iproute2 procps psmisc jq unzip openssl build-essential python3)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts packaged daemons on install; the tests start their own copies
# on their own ports and sockets, so stop the system ones where they started.
for svc in ssh rsyslog containerd; do
  if command -v systemctl >/dev/null && systemctl is-active -q "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done

# bpftrace's tracepoints need tracefs.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || echo "setup: could not mount tracefs; eBPF tests will fail" >&2
echo "setup: done"
