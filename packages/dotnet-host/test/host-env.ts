import { fileURLToPath } from 'node:url';
import { checkPrerequisites, DOTNET_MISSING, notBuilt } from '@kr/test-utils';
import { findDotnet } from '../src/index.js';

/** The published echo host. */
export const testHostDll = fileURLToPath(new URL('../dist/test-host/kr-test-host.dll', import.meta.url));

/** Why the echo host cannot run here (undefined when it can); in CI that fails the suite. */
export const { missing, mustFail } = checkPrerequisites('dotnet-host', [
  () => (findDotnet() ? undefined : DOTNET_MISSING),
  () => notBuilt(testHostDll),
]);
