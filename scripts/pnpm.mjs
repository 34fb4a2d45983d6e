#!/usr/bin/env node
// Runs the pinned pnpm (package.json "packageManager"), installing it into .tools/ first when the
// machine has no pnpm of that version. Corepack cannot fetch pnpm here, and a global install needs
// root, so a project-local copy is the one path that works everywhere.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const localBin = join(root, '.tools', 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');

function versionOf(command, args = []) {
  const r = spawnSync(command, [...args, '--version'], {
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** @returns {{ command: string, args: string[] }} how to invoke the pinned pnpm */
export function resolvePnpm() {
  if (versionOf('pnpm') === wanted) return { command: 'pnpm', args: [] };
  if (!existsSync(localBin) || versionOf(process.execPath, [localBin]) !== wanted) {
    console.log(`[setup] installing pnpm ${wanted} into .tools/`);
    const r = spawnSync(
      'npm',
      ['install', '--prefix', join(root, '.tools'), '--no-save', '--no-audit', '--no-fund', `pnpm@${wanted}`],
      { stdio: 'inherit', shell: process.platform === 'win32' },
    );
    if (r.status !== 0) throw new Error(`could not install pnpm ${wanted} (npm exited ${r.status})`);
  }
  // turbo (and every `pnpm run` it starts) looks for `pnpm` on PATH: put the local copy there too.
  const localBinDir = join(root, '.tools', 'node_modules', '.bin');
  if (!(process.env.PATH ?? '').split(delimiter).includes(localBinDir)) {
    process.env.PATH = `${localBinDir}${delimiter}${process.env.PATH ?? ''}`;
  }
  return { command: process.execPath, args: [localBin] };
}

/** Runs pnpm with the given arguments in the repository root; exits on failure. */
export function runPnpm(args, options = {}) {
  const pnpm = resolvePnpm();
  const r = spawnSync(pnpm.command, [...pnpm.args, ...args], { stdio: 'inherit', cwd: root, ...options });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runPnpm(process.argv.slice(2));
}
