#!/usr/bin/env bash
# Installs the system libraries SLKD links against when pkg-config cannot find them
# (Debian/Ubuntu: libopenblas-dev, liblapacke-dev, libpng-dev, libturbojpeg0-dev, libopenmpi-dev
# with openmpi-bin for mpirun, pkg-config).
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
for pair in openblas:libopenblas-dev lapacke:liblapacke-dev libpng:libpng-dev libturbojpeg:libturbojpeg0-dev ompi-c:libopenmpi-dev; do
    module=${pair%%:*}; package=${pair#*:}
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$module"; then
        missing+=("$package")
    fi
done
# GNU time: the test of slkd iqa's memory per pixel reads the tool's peak resident set from it.
[ -x /usr/bin/time ] || missing+=(time)
# mpirun: data-parallel training (slkd train|distill --launcher mpi) and its tests.
command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin)

if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing system packages: ${missing[*]}" >&2
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq >/dev/null || true
    $sudo_cmd apt-get install -y -qq libopenblas-dev liblapacke-dev libpng-dev libturbojpeg0-dev libopenmpi-dev openmpi-bin \
        pkg-config time >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
        [ -x "$dir/swift" ] && export PATH="$dir:$PATH"
    done
fi
command -v swift >/dev/null 2>&1 || { echo "error: Swift 6 toolchain not found on PATH" >&2; exit 1; }
