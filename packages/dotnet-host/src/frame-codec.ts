/**
 * The channel's framing: 4 bytes little-endian length, then that many bytes of UTF-8 JSON.
 * Length-prefixed rather than newline-delimited so a frame is read with one bounds check, and
 * rather than JSON-RPC because the protocol is seven message kinds both sides own (see README).
 */

/** Frames larger than this are refused: a corrupt length must not allocate gigabytes. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Encodes one message as a frame. */
export function toFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.allocUnsafe(body.length + 4);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Incremental decoder: feed it socket chunks, it calls `onFrame` with each parsed JSON value. */
export interface FrameDecoder {
  push(chunk: Buffer): void;
}

export function createFrameDecoder(
  onFrame: (value: unknown) => void,
  onError: (error: Error) => void,
): FrameDecoder {
  let chunks: Buffer[] = [];
  let buffered = 0;
  let failed = false;

  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    chunks = rest.length > 0 ? [rest] : [];
    buffered = rest.length;
    return head;
  };

  return {
    push(chunk) {
      if (failed) return;
      chunks.push(chunk);
      buffered += chunk.length;
      while (buffered >= 4) {
        const first = chunks[0]!;
        const length =
          first.length >= 4 ? first.readUInt32LE(0) : Buffer.concat(chunks, buffered).readUInt32LE(0);
        if (length > MAX_FRAME_BYTES) {
          failed = true;
          onError(new Error(`Frame of ${length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit.`));
          return;
        }
        if (buffered < length + 4) return;
        const frame = take(length + 4);
        let value: unknown;
        try {
          value = JSON.parse(frame.toString('utf8', 4));
        } catch (error) {
          failed = true;
          onError(new Error('A frame is not valid JSON.', { cause: error }));
          return;
        }
        onFrame(value);
      }
    },
  };
}
