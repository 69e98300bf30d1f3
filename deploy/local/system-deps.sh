#!/usr/bin/env bash
# Installs the Debian packages that `make run` and `make test` need, when they are missing:
# Chromium drives the console's browser tests, Node.js (npm) builds the console.
# Java 17+ and Maven must already be there (they fetch and run the Kafka broker), and Rust's cargo
# (rustup's, 1.74 or later: it builds the engine's compiled parts, services/engine/native).
set -euo pipefail

packages=(kcat postgresql prometheus chromium chromium-driver)
missing=()
# Node.js builds the web console; a machine that has it from elsewhere keeps its own
command -v npm >/dev/null || packages+=(nodejs npm)
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "deps: $tool is required (Java 17+ and Maven 3.8+)" >&2; exit 1; }
done
PATH="$HOME/.cargo/bin:$PATH" command -v cargo >/dev/null \
  || { echo "deps: cargo is required (Rust 1.74+, e.g. from rustup: https://rustup.rs)" >&2; exit 1; }
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: please install the Debian packages: ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
