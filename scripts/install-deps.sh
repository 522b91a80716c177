#!/usr/bin/env bash
# Installs exactly what voxtrace needs and is missing on a Debian 12 machine.
#   scripts/install-deps.sh build   - compiler toolchain and C libraries (for `make`, `make run`)
#   scripts/install-deps.sh test    - the above plus cmocka, clang + libFuzzer, chromium (for the
#                                     browser suites), node and the npm packages of package-lock.json
# Packages already installed are left alone; apt-get runs only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-build}
pkgs=(gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libprotobuf-c-dev protobuf-c-compiler
      libjansson-dev zlib1g-dev libsodium-dev libcurl4-openssl-dev)
if [ "$mode" = test ]; then
  pkgs+=(libcmocka-dev clang libclang-rt-14-dev chromium nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
# node and npm may come from outside Debian (e.g. nodesource); accept any working pair.
if [ "$mode" = test ] && command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
  # node_modules is rebuilt only when the lockfile is newer than the last install.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "install-deps: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
