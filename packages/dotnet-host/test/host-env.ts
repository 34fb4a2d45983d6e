import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findDotnet } from '../src/index.js';

/** The published echo host, and why it cannot run here (undefined when it can). */
export const testHostDll = fileURLToPath(new URL('../dist/test-host/kr-test-host.dll', import.meta.url));

function whyMissing(): string | undefined {
  if (!findDotnet()) return 'the .NET SDK (`dotnet`) is not on PATH';
  if (!existsSync(testHostDll)) return `${testHostDll} is not built (run \`pnpm turbo run build\`)`;
  return undefined;
}

export const missing = whyMissing();
/** In CI a missing runtime is a failure, never a skip. */
export const mustFail = missing !== undefined && process.env.CI === 'true';
if (missing && !mustFail) console.warn(`[dotnet-host tests] skipped: ${missing}`);
