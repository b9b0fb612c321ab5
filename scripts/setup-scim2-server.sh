#!/usr/bin/env bash
# Installs the independent SCIM server the interoperability tests run against: python
# `scim2-server` (and its dependencies, pinned in scripts/scim2-server-requirements.txt) in a
# project-local, git-ignored virtualenv, .tools/scim2-server. Idempotent: a no-op when the pinned
# requirements are already installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/scim2-server"
requirements="$root/scripts/scim2-server-requirements.txt"
stamp="$dest/.requirements"

if [ -x "$dest/bin/scim2-server" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
done
if [ -z "$python" ]; then
  echo "setup-scim2-server: python3 is needed to install scim2-server from PyPI (interoperability tests)." >&2
  exit 1
fi
echo "setup-scim2-server: installing scim2-server into .tools/scim2-server (once)..." >&2
# A venv records its own path, so it is built in place; the stamp, written last, marks it complete.
rm -rf "$dest"
"$python" -m venv "$dest"
# Every package pinned, dependencies included (--no-deps: nothing unpinned slips in).
"$dest/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
cp "$requirements" "$stamp"
"$dest/bin/scim2-server" --help >/dev/null
