import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', 'src');
const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
/** The only files allowed to touch real time and randomness: the injectable defaults. */
const CLOCK_FILES = new Set(['clock.ts', 'system-ids.ts']);

describe('@kr/core stays free of I/O', () => {
  it.each(files)('should import no Node built-in in %s', (file) => {
    const text = readFileSync(join(src, file), 'utf8');
    expect(text).not.toMatch(
      /from\s+['"](node:|fs|path|net|http|https|child_process|worker_threads|os|dgram|tls|cluster|process)['"/]/,
    );
    expect(text).not.toMatch(/\brequire\(/);
    expect(text).not.toMatch(/\bprocess\.\w/);
  });

  it.each(files.filter((f) => !CLOCK_FILES.has(f)))(
    'should read no clock or timer directly in %s',
    (file) => {
      const text = readFileSync(join(src, file), 'utf8');
      expect(text).not.toMatch(
        /\b(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|queueMicrotask)\s*\(/,
      );
      expect(text).not.toMatch(/\bDate\.now\s*\(|new Date\s*\(|performance\.now/);
      expect(text).not.toMatch(/Math\.random|crypto\./);
    },
  );
});
