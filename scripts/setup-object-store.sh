#!/usr/bin/env bash
# Installs the S3-compatible object store the tests read sources from: Versity's S3 gateway
# (versitygw, a real S3 server over a POSIX directory, with SigV4 authentication), pinned, built
# from the Go module proxy into the project-local, git-ignored .tools/object-store. `npm run
# setup:test` runs it. Idempotent: a no-op when the pinned version is already built. Skipped, with
# a message, when Go is absent (the object store tests then fail with how to install it).
#
# Why not SeaweedFS or MinIO: both pull several hundred modules (SeaweedFS's module graph was still
# downloading after almost five minutes here), versitygw about eighty.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="github.com/versity/versitygw/cmd/versitygw"
version="v1.8.0"
dest="$root/.tools/object-store"
stamp="$dest/.version"

go="${GO:-go}"
if ! command -v "$go" >/dev/null 2>&1; then
  echo "setup-object-store: Go is not installed; skipping (the object store tests need .tools/object-store/versitygw)." >&2
  exit 0
fi

want="$module@$version $("$go" env GOVERSION)"
if [ -x "$dest/versitygw" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

echo "setup-object-store: building $module@$version into .tools/object-store (once, a few minutes)..." >&2
partial="$dest.partial.$$"
rm -rf "$partial"
mkdir -p "$partial"
# go install module@version resolves exactly the versions (and checksums) of that release's go.mod.
GOBIN="$partial" GOFLAGS="-buildvcs=false" "$go" install -trimpath "$module@$version"
echo "$want" > "$partial/.version"
rm -rf "$dest"
mv "$partial" "$dest"
