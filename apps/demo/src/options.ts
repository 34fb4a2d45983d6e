import { parseArgs } from 'node:util';

export interface DemoOptions {
  host: string;
  port: number;
  https: boolean;
  certDir: string;
}

export type OptionsResult =
  { ok: true; options: DemoOptions } | { ok: false; message: string } | { ok: 'help' };

export const USAGE = `Usage: npm run demo -- [--host 127.0.0.1] [--port 5000] [--http] [--cert-dir DIR]

  --host       address to listen on (default 127.0.0.1)
  --port       port (default: $PORT, else 5000)
  --http       plain HTTP instead of HTTPS with a self-signed certificate
  --cert-dir   where the self-signed certificate is kept (default apps/demo/.cert)
  --help       this text`;

/** Parses the command line and environment (pure: no side effects). */
export function parseDemoOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
  defaultCertDir: string,
): OptionsResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string' },
        http: { type: 'boolean', default: false },
        'cert-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  if (values.help) return { ok: 'help' };
  const portText = values.port ?? env.PORT ?? '5000';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    return { ok: false, message: `Invalid port '${portText}': use an integer from 0 to 65535.` };
  }
  return {
    ok: true,
    options: {
      host: values.host,
      port: Number(portText),
      https: !values.http,
      certDir: values['cert-dir'] ?? defaultCertDir,
    },
  };
}
