#!/usr/bin/env node
// `npm test`: set up what is missing, build every package (turbo), run every test (vitest, one
// run over all workspace projects) and end with the line CI reads: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, '.test-results.json');
const pnpm = resolvePnpm();
const step = (args) =>
  spawnSync(pnpm.command, [...pnpm.args, ...args], { stdio: 'inherit', cwd: root }).status ?? 1;

rmSync(results, { force: true });
let status = step(['install', '--frozen-lockfile', '--prefer-offline', '--reporter=append-only']);
if (status === 0) status = step(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
if (status === 0) status = step(['exec', 'vitest', 'run', ...process.argv.slice(2)]);

console.log(summary(status));
process.exit(status);

function summary(exitStatus) {
  if (!existsSync(results)) return '0 passed, 1 failed (set-up or build failed before any test ran)';
  const r = JSON.parse(readFileSync(results, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  const failed = r.numFailedTests + (exitStatus !== 0 && r.numFailedTests === 0 ? 1 : 0);
  return `${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}
