#!/usr/bin/env bash
# Builds tools/compose-check (the Compose Specification's reference loader, compose-go, pinned in
# its go.mod/go.sum) into the project-local, git-ignored .tools/compose-check. The test suite uses
# it to validate temporal-compose.yml where `docker compose` is not installed; `npm run setup:test`
# runs it. Idempotent: a no-op when the binary was built from the current sources. Skipped, with a
# message, when Go is absent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/tools/compose-check"
dest="$root/.tools/compose-check"
stamp="$dest/.sources"

go="${GO:-go}"
if ! command -v "$go" >/dev/null 2>&1; then
  echo "setup-compose-check: Go is not installed; skipping (the compose test falls back to \`docker compose config\`)." >&2
  exit 0
fi

want="$(cd "$src" && cat go.mod go.sum main.go | sha256sum | cut -d' ' -f1) $("$go" env GOVERSION)"
if [ -x "$dest/compose-check" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

echo "setup-compose-check: building tools/compose-check into .tools/compose-check (once)..." >&2
partial="$dest.partial.$$"
rm -rf "$partial"
mkdir -p "$partial"
# -mod=readonly: the build uses exactly the versions (and checksums) committed in go.mod/go.sum.
(cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" "$go" build -trimpath -o "$partial/compose-check" .)
echo "$want" > "$partial/.sources"
rm -rf "$dest"
mv "$partial" "$dest"
