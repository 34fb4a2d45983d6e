import type { Options } from 'tsup';

/**
 * The one tsup configuration every package shares: ESM, type declarations, Node 20.
 * A package's `tsup.config.ts` names its entries and nothing else.
 */
export function createTsupConfig(entry: string[], overrides: Options = {}): Options {
  return {
    entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}
