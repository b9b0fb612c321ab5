#!/usr/bin/env node
// Fills in `integrity` for lockfile entries npm left without one. npm writes the optional packages of
// other platforms (e.g. @swc/core-darwin-arm64 when installing on Linux) without it, and with
// `omit-lockfile-registry-resolved` (as configured here: the lockfile names no registry host) it
// drops `resolved` everywhere. Without an integrity hash `npm ci` cannot verify what it downloads.
// Run after changing dependencies: `node scripts/complete-lockfile.js` (asks the configured
// registry about each such entry); `--check` only reports incomplete entries, exiting 1 if any.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const file = path.resolve(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const incomplete = Object.entries(lock.packages).filter(
  ([key, entry]) => key.startsWith('node_modules/') && !entry.link && !entry.integrity,
);
if (process.argv.includes('--check')) {
  for (const [key] of incomplete) console.error(`package-lock.json: ${key} has no integrity hash`);
  process.exit(incomplete.length > 0 ? 1 : 0);
}
for (const [key, entry] of incomplete) {
  const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const dist = JSON.parse(
    execFileSync('npm', ['view', `${name}@${entry.version}`, 'dist', '--json'], { encoding: 'utf8' }),
  );
  // Keep npm's member order: version, (resolved,) integrity, then the rest.
  const { version, resolved, ...rest } = entry;
  lock.packages[key] = { version, ...(resolved ? { resolved } : {}), integrity: dist.integrity, ...rest };
  console.log(`${name}@${version}: ${dist.integrity}`);
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: ${incomplete.length} entries filled in`);
