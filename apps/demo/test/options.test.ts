import { describe, expect, it } from 'vitest';
import { parseDemoOptions } from '../src/options.js';

describe('parseDemoOptions', () => {
  it('should default to HTTPS on 127.0.0.1:5000', () => {
    expect(parseDemoOptions([], {}, '/certs')).toEqual({
      ok: true,
      options: { host: '127.0.0.1', port: 5000, https: true, certDir: '/certs' },
    });
  });

  it('should take --port over PORT, and PORT over the default', () => {
    expect(parseDemoOptions(['--port', '8080'], { PORT: '9090' }, '/c')).toMatchObject({
      options: { port: 8080 },
    });
    expect(parseDemoOptions([], { PORT: '9090' }, '/c')).toMatchObject({ options: { port: 9090 } });
  });

  it('should read --host, --http and --cert-dir', () => {
    expect(parseDemoOptions(['--host', '0.0.0.0', '--http', '--cert-dir', '/x'], {}, '/c')).toEqual({
      ok: true,
      options: { host: '0.0.0.0', port: 5000, https: false, certDir: '/x' },
    });
  });

  it.each([[['--port', 'abc']], [['--port', '70000']], [['--bogus']], [['extra']]])(
    'should refuse %j',
    (argv) => {
      expect(parseDemoOptions(argv, {}, '/c').ok).toBe(false);
    },
  );

  it('should answer --help', () => {
    expect(parseDemoOptions(['--help'], {}, '/c')).toEqual({ ok: 'help' });
  });
});
