#!/usr/bin/env node
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import pretty from 'pino-pretty';
import { createDemoExecutors } from './executors.js';
import { parseDemoOptions, USAGE } from './options.js';
import { startDemoServer } from './server.js';

const defaultCertDir = join(dirname(fileURLToPath(import.meta.url)), '..', '.cert');
const parsed = parseDemoOptions(process.argv.slice(2), process.env, defaultCertDir);
if (parsed.ok === 'help') {
  console.log(USAGE);
  process.exit(0);
}
if (!parsed.ok) {
  console.error(`${parsed.message}\n\n${USAGE}`);
  process.exit(2);
}

// Console logging at debug level, as the tutorial's New-KrLogger | Set-KrLoggerLevel -Value Debug.
const logger = pino(
  { name: 'Tasks Demo Server', level: process.env.LOG_LEVEL ?? 'debug' },
  pretty({ sync: true, colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l' }),
);

const executors = createDemoExecutors(logger);
const server = await startDemoServer(parsed.options, { logger, executors }).catch((error: unknown) => {
  logger.fatal({ err: error }, 'could not start');
  process.exit(1);
});

let signals = 0;
const shutdown = (reason: string): void => {
  if (++signals > 1) {
    logger.warn('second signal: exiting now');
    process.exit(1);
  }
  server.close(reason).then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => shutdown(signal));

// `npm run demo` does not pass a SIGTERM sent to npm on to this process: npm exits and leaves it
// running with its hosts. Started by npm, the server therefore also shuts down when npm is gone.
if (process.env.npm_lifecycle_event === 'demo') {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && signals === 0) shutdown('npm exited');
  }, 500).unref();
}
