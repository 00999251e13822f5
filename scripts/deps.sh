#!/usr/bin/env bash
# Installs the Debian packages plexgate builds, tests and benchmarks with
# (DESIGN.md section 10). Idempotent: quiet and fast when all are present.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev node-llhttp android-libboringssl-dev
  libsimdjson-dev libmimalloc-dev libyaml-cpp-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  redis-server nginx haproxy tinyproxy wrk curl openssl
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends keeps a fresh machine's install short; the servers
# are only started by tests and benchmarks, never enabled as services here.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
