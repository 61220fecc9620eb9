#!/usr/bin/env bash
# Builds MinIO from the Go module proxy once and caches the binary; later runs reuse it.
# The version is pinned in test/stack/minio-version.txt (a Go pseudo-version of
# github.com/minio/minio). Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(tr -d '[:space:]' < "$here/minio-version.txt")"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/slide-workstation"
bin="$cache/minio-bin/minio"
stamp="$cache/minio-bin/version"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then echo "$bin"; exit 0; fi
if [[ -x "$bin" && ! -f "$stamp" ]]; then echo "$version" > "$stamp"; echo "$bin"; exit 0; fi
if ! command -v go >/dev/null; then
  echo "MinIO is not built yet and Go is not installed. Install Go (https://go.dev/dl or apt-get install golang) and run $0 again." >&2
  exit 1
fi
echo "Building MinIO $version from the Go module proxy (a few minutes, once)..." >&2
mkdir -p "$cache/minio-bin"
if ! GOFLAGS=-mod=mod GOBIN="$cache/minio-bin" go install "github.com/minio/minio@$version" >&2; then
  # `go install` refuses modules with replace directives: build inside the module instead.
  dir=$(go mod download -json "github.com/minio/minio@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  (cd "$dir" && go build -o "$bin" .) >&2
fi
echo "$version" > "$stamp"
echo "$bin"
