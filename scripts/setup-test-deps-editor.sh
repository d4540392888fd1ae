#!/usr/bin/env bash
# Installs what tests/editor_nvim.rs needs: Neovim (Debian's 0.7 or any later one). Idempotent: a
# Neovim already on PATH is kept. Needs root for apt-get (CI runs as root; elsewhere use sudo).
set -euo pipefail
if command -v nvim >/dev/null 2>&1; then
  echo "nvim present: $(nvim --version | head -1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no nvim and no apt-get; install Neovim >= 0.7 by hand" >&2
  exit 1
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends neovim >/dev/null
echo "installed: $(nvim --version | head -1)"
