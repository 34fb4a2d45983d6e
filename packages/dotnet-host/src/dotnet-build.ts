import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of {@link runDotnetPublish}. */
export interface DotnetPublishOptions {
  /** The .csproj to publish. */
  project: string;
  /** Where the published host goes (inside the package's dist/, so turbo caches it). */
  outDir: string;
  /** Folders whose .cs/.csproj/.props/.targets files decide whether a rebuild is needed. */
  inputs: readonly string[];
  /** The file that must exist after a publish (e.g. `kr-pwsh-host.dll`). */
  output: string;
  /** Runtime identifier; default: this machine's (`linux-x64`, `osx-arm64`, `win-x64`, …). */
  rid?: string;
  log?: (line: string) => void;
}

const SOURCE = /\.(cs|csproj|props|targets|vb|vbproj)$/;

/** This machine's .NET runtime identifier. */
export function getRuntimeIdentifier(): string {
  const os = process.platform === 'win32' ? 'win' : process.platform === 'darwin' ? 'osx' : 'linux';
  const arch = process.arch === 'arm64' ? 'arm64' : process.arch === 'ia32' ? 'x86' : 'x64';
  return `${os}-${arch}`;
}

/** The `dotnet` executable (`$DOTNET` or the one on PATH), or undefined when there is none. */
export function findDotnet(): string | undefined {
  const candidate = process.env.DOTNET ?? 'dotnet';
  const r = spawnSync(candidate, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? candidate : undefined;
}

function hashInputs(inputs: readonly string[], rid: string): string {
  const hash = createHash('sha256').update(rid);
  const walk = (root: string, dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'bin' && entry.name !== 'obj') walk(root, path);
      } else if (SOURCE.test(entry.name)) {
        hash.update(relative(root, path)).update(readFileSync(path));
      }
    }
  };
  for (const input of inputs) if (existsSync(input) && statSync(input).isDirectory()) walk(input, input);
  return hash.digest('hex');
}

/**
 * Publishes a .NET host for this machine's runtime (framework-dependent), skipping the work when the
 * sources are unchanged since the last publish. Throws with a clear message when the .NET SDK is missing
 * or the publish fails: a missing prerequisite fails the build loudly.
 */
export function runDotnetPublish(options: DotnetPublishOptions): { skipped: boolean; ms: number } {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const rid = options.rid ?? getRuntimeIdentifier();
  const stampPath = join(options.outDir, '.kr-build-stamp');
  const stamp = hashInputs(options.inputs, rid);
  if (
    existsSync(join(options.outDir, options.output)) &&
    existsSync(stampPath) &&
    readFileSync(stampPath, 'utf8') === stamp
  ) {
    log(`${options.output} is up to date (${rid}).`);
    return { skipped: true, ms: Date.now() - started };
  }
  const dotnet = findDotnet();
  if (!dotnet) {
    throw new Error(
      'The .NET 10 SDK is required to build the script host, but `dotnet` was not found. ' +
        'Install it (https://dot.net) or set DOTNET to the dotnet executable.',
    );
  }
  log(`Publishing ${options.project} for ${rid} ...`);
  const r = spawnSync(
    dotnet,
    [
      'publish',
      options.project,
      '-c',
      'Release',
      '-r',
      rid,
      '--self-contained',
      'false',
      '-o',
      options.outDir,
      '-nologo',
      '-v',
      'quiet',
      '-clp:ErrorsOnly',
    ],
    { stdio: 'inherit', env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' } },
  );
  if (r.status !== 0)
    throw new Error(`dotnet publish ${options.project} failed (exit ${r.status ?? r.signal}).`);
  if (!existsSync(join(options.outDir, options.output)))
    throw new Error(`dotnet publish did not produce ${options.output} in ${options.outDir}.`);
  writeFileSync(stampPath, stamp);
  log(`Published ${options.output} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return { skipped: false, ms: Date.now() - started };
}

/** The shared C# half (Kr.Host) that every script host references: dist/index.js and src/ both sit one level down. */
const KR_HOST_SOURCES = join(dirname(fileURLToPath(import.meta.url)), '..', 'dotnet', 'Kr.Host');

/**
 * The build step of a language package (`node scripts/build-host.mjs`): publishes its host from
 * `<packageRoot>/<project>` into `<packageRoot>/dist/host`, rebuilding when its own `dotnet/` sources or
 * the shared Kr.Host sources change. A failure is printed under the package's name and exits 1, so the
 * build (and `npm test`) stops loudly.
 *
 * @example
 * publishScriptHost({ packageName: '@kr/executor-pwsh', packageRoot: root,
 *   project: 'dotnet/Kr.Pwsh.Host/Kr.Pwsh.Host.csproj', output: 'kr-pwsh-host.dll' });
 */
export function publishScriptHost(options: {
  packageName: string;
  packageRoot: string;
  project: string;
  output: string;
}): void {
  try {
    runDotnetPublish({
      project: join(options.packageRoot, options.project),
      outDir: join(options.packageRoot, 'dist', 'host'),
      inputs: [join(options.packageRoot, 'dotnet'), KR_HOST_SOURCES],
      output: options.output,
    });
  } catch (error) {
    console.error(`${options.packageName}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
