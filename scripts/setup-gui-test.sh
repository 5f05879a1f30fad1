#!/usr/bin/env bash
# Installs the Debian packages the flight map's rendered tests need, and nothing else:
#   - mesa-vulkan-drivers + libvulkan1: lavapipe, the CPU Vulkan driver egui_kittest's
#     wgpu renderer draws the snapshot test with (gui/tests/ui.rs);
#   - xvfb + xauth, libgl1-mesa-dri, libgl1, libegl1 and the X11 client libraries
#     flight-map loads at run time: the real window under Xvfb (scripts/gui-smoke.sh);
#   - x11-apps (xwd) and imagemagick: the screenshot and its colour count.
# Idempotent: packages already installed are left alone, and `apt-get update` runs once,
# only when something is missing. Needs root (or sudo) only in that case.
set -euo pipefail

PACKAGES=(
    mesa-vulkan-drivers
    libvulkan1
    xvfb
    xauth
    libgl1
    libegl1
    libgl1-mesa-dri
    libx11-6
    libxcursor1
    libxrandr2
    libxi6
    libxkbcommon-x11-0
    x11-apps
    imagemagick
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup-gui-test: all packages present"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "setup-gui-test: missing ${missing[*]} and no apt-get; install them by hand" >&2
    exit 1
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "setup-gui-test: missing ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

echo "setup-gui-test: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
