#!/usr/bin/env bash
# Builds a pinned Loki release from the Go module proxy and caches the binary
# outside the repo. Loki's own go.mod has replace directives, so `go install
# .../cmd/loki@vX` is refused; a small wrapper module requires loki/v3 at the
# pinned release and repeats its replace directives.
#
# Usage: build-loki.sh            prints the path of the cached binary
# Env:   LOKI_BIN      use this binary instead (no build)
#        LOKI_VERSION  release to build (default below)
#        CASEFILE_CACHE cache root (default ~/.cache/casefile)
set -euo pipefail

if [[ -n "${LOKI_BIN:-}" ]]; then
  [[ -x "$LOKI_BIN" ]] || { echo "LOKI_BIN=$LOKI_BIN is not an executable" >&2; exit 1; }
  echo "$LOKI_BIN"; exit 0
fi

version="${LOKI_VERSION:-v3.7.8}"
cache="${CASEFILE_CACHE:-$HOME/.cache/casefile}/loki/$version"
bin="$cache/loki"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { echo "build-loki: Go is needed to build Loki $version (or set LOKI_BIN)" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
start=$(date +%s)
echo "build-loki: downloading github.com/grafana/loki/v3@$version" >&2
dir="$(go mod download -json "github.com/grafana/loki/v3@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
[[ -d "$dir" ]] || { echo "build-loki: download of Loki $version failed" >&2; exit 1; }

cat > go.mod <<MOD
module casefile.local/lokibuild

go 1.24

require github.com/grafana/loki/v3 $version
MOD
# Repeat Loki's own replace/exclude directives. pkg/push is a nested module the
# release zip leaves out, so require it at the version the release's go.mod names.
grep -E '^(replace|exclude) ' "$dir/go.mod" | grep -v 'loki/pkg/push' >> go.mod
push="$(awk '$1=="github.com/grafana/loki/pkg/push" && $2 ~ /^v/ {print $2; exit}' "$dir/go.mod")"
echo "require github.com/grafana/loki/pkg/push $push" >> go.mod
printf 'package tools\n\nimport _ "github.com/grafana/loki/v3/cmd/loki"\n' > tools.go
echo "build-loki: resolving dependencies" >&2
# `go get` of the one package, not `go mod tidy`: tidy would also fetch every test dependency.
go get "github.com/grafana/loki/v3/cmd/loki@$version" >&2
echo "build-loki: compiling cmd/loki (several minutes cold)" >&2
mkdir -p "$cache"
go build -trimpath -ldflags "-s -w -X github.com/grafana/loki/v3/pkg/util/build.Version=${version#v}" -o "$bin.tmp" github.com/grafana/loki/v3/cmd/loki
mv "$bin.tmp" "$bin"
echo "build-loki: built Loki $version in $(( $(date +%s) - start ))s -> $bin" >&2
echo "$bin"
