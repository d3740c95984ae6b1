#!/usr/bin/env bash
# Installs what Casefile's tests and benchmarks need on a fresh Debian 12 machine
# (run as root): Podman + runc + busybox for real containers, bpftrace for eBPF,
# Chromium for the plugin's browser tests, PostgreSQL for the server's store,
# and the pinned Loki binary (built once, cached under ~/.cache/casefile).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(podman runc busybox-static bpftrace chromium postgresql iproute2 procps psmisc jq unzip)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bpftrace's tracepoints need tracefs.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || echo "setup: could not mount tracefs; eBPF tests will skip" >&2

echo "setup: Loki $(bash test/loki/build-loki.sh)"
