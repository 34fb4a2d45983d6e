import type { IdGenerator } from './clock.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Random 128-bit ids as 32 lowercase hex characters, like a GUID in .NET's "N" format (Kestrun's
 * default). Uses Web Crypto, which Node 20 exposes as a global.
 */
export const randomIds: IdGenerator = {
  next() {
    const bytes = new Uint8Array(16);
    globalThis.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6]! & 0x0f) | 0x40; // RFC 9562 version 4
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
    let id = '';
    for (const b of bytes) id += HEX[b];
    return id;
  },
};
