import type { IdGenerator } from './clock.js';

const BATCH = 256; // ids per call to the random source: one call costs about as much as 50 ids' formatting
/** Char codes of '0'..'9', 'a'..'f'. */
const DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * Random 128-bit ids as 32 lowercase hex characters, like a GUID in .NET's "N" format (Kestrun's
 * default), with RFC 9562 version-4 bits. Uses Web Crypto, which Node 20 exposes as a global.
 */
export const randomIds: IdGenerator = (() => {
  const pool = new Uint8Array(16 * BATCH);
  let offset = pool.length;
  // One String.fromCharCode call makes a flat string; appending 16 pieces made a rope that the
  // first map lookup had to flatten again.
  const codes = new Array<number>(32).fill(0);
  return {
    next() {
      if (offset === pool.length) {
        globalThis.crypto.getRandomValues(pool);
        offset = 0;
      }
      pool[offset + 6] = (pool[offset + 6]! & 0x0f) | 0x40;
      pool[offset + 8] = (pool[offset + 8]! & 0x3f) | 0x80;
      for (let i = 0; i < 16; i++) {
        const byte = pool[offset + i]!;
        codes[2 * i] = DIGITS[byte >> 4]!;
        codes[2 * i + 1] = DIGITS[byte & 15]!;
      }
      offset += 16;
      return String.fromCharCode.apply(null, codes);
    },
  };
})();
