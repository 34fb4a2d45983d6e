import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTaskService } from '@kr/core';
import type { Executor, TaskService } from '@kr/core';
import type { Logger } from 'pino';
import { createDemoApp } from './app.js';
import { readOrCreateCertificate } from './certificate.js';
import type { DemoOptions } from './options.js';

export interface DemoServer {
  readonly url: string;
  readonly service: TaskService;
  /** Stops accepting requests, cancels running tasks, waits the grace period, stops the hosts. */
  close(reason?: string): Promise<void>;
}

/** Starts the tutorial server with the given executors. */
export async function startDemoServer(
  options: DemoOptions,
  {
    logger,
    executors,
    gracePeriodMs = 5_000,
  }: { logger: Logger; executors: Executor[]; gracePeriodMs?: number },
): Promise<DemoServer> {
  const service = createTaskService({
    executors,
    gracePeriodMs,
    onInternalError: (error) => logger.warn({ err: error }, 'task engine recovered from an error'),
  });
  const app = createDemoApp({ service, logger });

  // Koa answers its own errors (ctx.onerror), so the handler's promise never rejects.
  const handle = app.callback();
  const listener = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  let server: Server;
  if (options.https) {
    const certificate = await readOrCreateCertificate(options.certDir, options.host);
    logger.info(
      { path: certificate.path },
      certificate.created ? 'created a self-signed certificate' : 'reusing the self-signed certificate',
    );
    server = createHttpsServer({ key: certificate.key, cert: certificate.cert }, listener);
  } else {
    server = createHttpServer(listener);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.https ? 'https' : 'http'}://${host}:${address.port}`;
  logger.info(`Tasks Demo Server listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    service,
    close(reason = 'close') {
      closing ??= (async () => {
        logger.info({ reason }, 'shutting down: cancelling tasks');
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const report = await service.dispose();
        logger.info(
          { stopped: report.stopped.length, abandoned: report.abandoned },
          'tasks stopped, hosts shut down',
        );
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
