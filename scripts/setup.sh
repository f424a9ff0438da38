#!/usr/bin/env bash
# Installs every Debian package the build and the tests need, only when missing, and the browser
# tests' npm package (playwright-core, pinned by tests/browser/package-lock.json; it drives
# Debian's chromium: no browser is downloaded). Idempotent and non-interactive; runs
# `apt-get update` at most once.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config time
  libyaml-cpp-dev libcurl4-openssl-dev nlohmann-json3-dev libboost1.81-dev
  libspdlog-dev doctest-dev libsqlite3-dev libpq-dev libssl-dev
  libcli11-dev libvalijson-dev libgoogle-perftools-dev libre2-dev jq curl
  libhowardhinnant-date-dev tzdata prometheus-cpp-dev openssl sqlite3 postgresql
  clang-15 libfuzzer-15-dev chromium
)
# Node.js and npm for the browser tests: Debian's, unless the machine has them already (from
# any source).
command -v node > /dev/null || PACKAGES+=(nodejs)
command -v npm > /dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BROWSER_DIR="$(dirname "$0")/../tests/browser"
if [ -f "$BROWSER_DIR/package-lock.json" ] && [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
  echo "setup: installing the browser tests' npm packages (tests/browser)"
  (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
