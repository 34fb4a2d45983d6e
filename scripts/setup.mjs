#!/usr/bin/env node
// Everything a fresh machine (Node + .NET SDK) needs before the tests or the demo can run:
// the pinned pnpm and the workspace dependencies (a no-op in a second or two when up to date).
import { runPnpm } from './pnpm.mjs';

runPnpm(['install', '--frozen-lockfile', '--prefer-offline', '--reporter=append-only']);
