#!/usr/bin/env node
// Runs the compiled test suite with Node's built-in test runner.
// Node 20's `--test` takes no globs, so the files are listed here. Each test file starts the real
// servers it needs (Temporal dev server, sandbox) once and stops them in its `after` hook.
// Usage: node scripts/run-tests.js [substring-filter ...]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// The product's tests, then each workspace package's own (packages/*/dist/test).
const packagesDir = path.join(root, 'packages');
const testDirs = [
  path.join(root, 'dist', 'test'),
  ...(fs.existsSync(packagesDir)
    ? fs.readdirSync(packagesDir).map((name) => path.join(packagesDir, name, 'dist', 'test'))
    : []),
];
const filters = process.argv.slice(2);

function listTests(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listTests(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const files = testDirs
  .flatMap(listTests)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test or packages/*/dist/test (did the build run?)');
  process.exit(1);
}
const started = Date.now();
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, '--test-timeout=300000', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, CXONE_SCIM_TEST: '1' } },
);
console.log(`run-tests: ${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(result.status ?? 1);
