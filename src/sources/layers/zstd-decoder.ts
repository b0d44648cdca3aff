/**
 * @module sources/layers/zstd-decoder
 * A streaming Zstandard decoder (RFC 8878), for Node versions whose zlib has no zstd.
 *
 * Why our own: the pure-JS decoder used before shifted its whole window buffer after every block
 * (up to 128 KiB of output), so a frame declaring a 1 GiB window cost a 1 GiB copy per block and
 * a 1 GiB allocation up front; the WebAssembly builds of libzstd on npm offer only one-shot
 * decoding or fixed-size heaps (see bench/cases/zstd.ts for the comparison). Here:
 * - the window size a frame declares is checked against a limit before anything is allocated;
 * - history lives in one buffer that grows with the output (never to more than the window plus a
 *   slack) and slides by one copy of the window per slack's worth of output, so the cost per
 *   output byte does not depend on the window size;
 * - blocks are produced one at a time by a generator, so a consumer's backpressure stops the
 *   decoding (a tiny frame of RLE blocks cannot fill memory);
 * - dictionaries are refused (layers do not use them) and the optional content checksum is
 *   skipped, not verified: the layer's digest covers every compressed byte.
 * @see https://www.rfc-editor.org/rfc/rfc8878
 */

/** The data is not valid zstd, or uses what this decoder refuses (a dictionary). */
export class ZstdDataError extends Error {
  override readonly name = 'ZstdDataError';
}

/** A frame declares a window larger than the decoder was allowed. */
export class ZstdWindowError extends Error {
  override readonly name = 'ZstdWindowError';
  constructor(
    readonly windowSize: number,
    readonly limit: number,
  ) {
    super(`the frame declares a ${windowSize}-byte window, more than the limit of ${limit} bytes`);
  }
}

const corrupt = (why: string) => new ZstdDataError(why);

const MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;
/** Extra room above the window before history slides: one slide (a window-sized copy) per slack. */
const MAX_SLACK = 32 * 1024 * 1024;
const FIRST_ALLOCATION = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Bit streams

/** The little-endian bits of `data` from bit `pos` (relative to byte `start`), n <= 24 bits. */
function bitsAt(data: Uint8Array, start: number, pos: number, n: number): number {
  if (n === 0) return 0;
  let shift = 0;
  if (pos < 0) {
    // Bits before the start of a backward stream read as zeros (RFC 8878 §4.1: overflow).
    if (pos + n <= 0) return 0;
    shift = -pos;
    n -= shift;
    pos = 0;
  }
  const i = start + (pos >> 3);
  const word =
    ((data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24)) >>>
    (pos & 7);
  return (word & ((1 << n) - 1)) << shift;
}

/**
 * A bitstream read from its end (RFC 8878 §4.1, §4.2.2): the last byte holds a 1-bit marker above
 * the first bits to read. `left` counts the bits not yet read; it goes negative on overflow.
 */
class BackwardBits {
  left: number;
  /** A 32-bit word of the stream holding bits [base, base + 32), refilled as reads move down. */
  #word = 0;
  #base: number;
  constructor(
    private readonly data: Uint8Array,
    private readonly start: number,
    end: number,
  ) {
    if (end <= start) throw corrupt('empty bitstream');
    const last = data[end - 1]!;
    if (last === 0) throw corrupt('bitstream without its end marker');
    this.left = (end - start) * 8 - (8 - (31 - Math.clz32(last)));
    this.#base = this.left + 1;
  }

  /** The next `n` bits (the `n` highest of those left), as a little-endian number. */
  read(n: number): number {
    const left = this.left - n;
    this.left = left;
    // Most reads come from the word already loaded: a shift and a mask.
    if (left >= this.#base && n <= 24) return (this.#word >>> (left - this.#base)) & ((1 << n) - 1);
    return this.#refill(left, n);
  }

  #refill(left: number, n: number): number {
    const data = this.data;
    if (n > 24)
      return bitsAt(data, this.start, left + 24, n - 24) * 0x1000000 + bitsAt(data, this.start, left, 24);
    if (left < 0) return bitsAt(data, this.start, left, n);
    // The lowest byte-aligned word that still holds bits up to left + n (n <= 24 keeps base <= left).
    const base = Math.max(0, Math.ceil((left + n - 32) / 8) * 8);
    const i = this.start + (base >> 3);
    this.#word =
      ((data[i] ?? 0) |
        ((data[i + 1] ?? 0) << 8) |
        ((data[i + 2] ?? 0) << 16) |
        ((data[i + 3] ?? 0) << 24)) >>>
      0;
    this.#base = base;
    return (this.#word >>> (left - base)) & ((1 << n) - 1);
  }

  peek(n: number): number {
    return bitsAt(this.data, this.start, this.left - n, n);
  }
}

// ---------------------------------------------------------------------------------------------
// FSE tables (RFC 8878 §4.1.1)

interface FseTable {
  log: number;
  symbol: Uint8Array;
  bits: Uint8Array;
  base: Uint32Array;
}

function buildFse(probs: ArrayLike<number>, count: number, log: number): FseTable {
  const size = 1 << log;
  const symbol = new Uint8Array(size);
  const bits = new Uint8Array(size);
  const base = new Uint32Array(size);
  const next = new Uint32Array(count);
  let high = size - 1;
  for (let s = 0; s < count; s++) {
    if (probs[s] === -1) {
      if (high < 0) throw corrupt('FSE distribution overfills its table');
      symbol[high--] = s;
      next[s] = 1;
    } else {
      next[s] = probs[s]!;
    }
  }
  const step = (size >> 1) + (size >> 3) + 3;
  const mask = size - 1;
  let pos = 0;
  for (let s = 0; s < count; s++) {
    for (let i = 0; i < probs[s]!; i++) {
      symbol[pos] = s;
      do pos = (pos + step) & mask;
      while (pos > high);
    }
  }
  if (pos !== 0) throw corrupt('FSE distribution does not fill its table');
  for (let state = 0; state < size; state++) {
    const x = next[symbol[state]!]!++;
    const nb = log - (31 - Math.clz32(x));
    bits[state] = nb;
    base[state] = (x << nb) - size;
  }
  return { log, symbol, bits, base };
}

/** An FSE table description read forward from `pos`; returns the table and the bytes it used. */
function readFse(data: Uint8Array, pos: number, end: number, maxLog: number): [FseTable, number] {
  if (pos >= end) throw corrupt('truncated FSE table description');
  const log = (data[pos]! & 15) + 5;
  if (log > maxLog) throw corrupt(`FSE accuracy log ${log} above ${maxLog}`);
  let bit = 4;
  let remaining = (1 << log) + 1;
  let threshold = 1 << log;
  let nbBits = log + 1;
  const probs: number[] = [];
  let previousZero = false;
  while (remaining > 1) {
    if (previousZero) {
      let repeat: number;
      do {
        repeat = bitsAt(data, pos, bit, 2);
        bit += 2;
        for (let i = 0; i < repeat; i++) probs.push(0);
      } while (repeat === 3);
      previousZero = false;
      if (probs.length > 255) throw corrupt('FSE distribution has too many symbols');
      continue;
    }
    const max = 2 * threshold - 1 - remaining;
    let value = bitsAt(data, pos, bit, nbBits - 1);
    if (value < max) {
      bit += nbBits - 1;
    } else {
      value = bitsAt(data, pos, bit, nbBits);
      if (value >= threshold) value -= max;
      bit += nbBits;
    }
    const prob = value - 1;
    remaining -= prob < 0 ? -prob : prob;
    probs.push(prob);
    previousZero = prob === 0;
    if (probs.length > 256) throw corrupt('FSE distribution has too many symbols');
    while (remaining < threshold) {
      nbBits--;
      threshold >>= 1;
    }
  }
  const used = (bit + 7) >> 3;
  if (remaining !== 1 || pos + used > end) throw corrupt('invalid FSE table description');
  return [buildFse(probs, probs.length, log), used];
}

function rleTable(symbol: number): FseTable {
  return { log: 0, symbol: Uint8Array.of(symbol), bits: Uint8Array.of(0), base: Uint32Array.of(0) };
}

// Predefined distributions and code tables (RFC 8878 §3.1.1.3.2.1, §3.1.1.3.2.2).
const LL_DEFAULT = [
  4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1,
  -1,
];
const ML_DEFAULT = [
  1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1,
];
const OF_DEFAULT = [
  1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1,
];
let predefined: [FseTable, FseTable, FseTable] | undefined;
function predefinedTables(): [FseTable, FseTable, FseTable] {
  predefined ??= [
    buildFse(LL_DEFAULT, LL_DEFAULT.length, 6),
    buildFse(OF_DEFAULT, OF_DEFAULT.length, 5),
    buildFse(ML_DEFAULT, ML_DEFAULT.length, 6),
  ];
  return predefined;
}

const LL_BASE = Uint32Array.from([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512,
  1024, 2048, 4096, 8192, 16384, 32768, 65536,
]);
const LL_BITS = Uint32Array.from([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 16,
]);
const ML_BASE = Uint32Array.from([
  3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
  32, 33, 34, 35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771,
  65539,
]);
const ML_BITS = Uint32Array.from([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
  2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
]);

// ---------------------------------------------------------------------------------------------
// Huffman literals (RFC 8878 §4.2)

interface HuffmanTable {
  maxBits: number;
  symbol: Uint8Array;
  bits: Uint8Array;
}

/** A Huffman tree description at `pos`; returns the table and the bytes it used. */
function readHuffman(data: Uint8Array, pos: number, end: number): [HuffmanTable, number] {
  if (pos >= end) throw corrupt('truncated Huffman tree description');
  const header = data[pos]!;
  const weights = new Uint8Array(256);
  let count = 0;
  let used: number;
  if (header >= 128) {
    count = header - 127;
    used = 1 + ((count + 1) >> 1);
    if (pos + used > end) throw corrupt('truncated Huffman weights');
    for (let i = 0; i < count; i++) {
      const byte = data[pos + 1 + (i >> 1)]!;
      weights[i] = i % 2 === 0 ? byte >> 4 : byte & 15;
    }
  } else {
    used = 1 + header;
    if (pos + used > end) throw corrupt('truncated Huffman weights');
    const [table, tableSize] = readFse(data, pos + 1, pos + used, 6);
    const bits = new BackwardBits(data, pos + 1 + tableSize, pos + used);
    let s1 = bits.read(table.log);
    let s2 = bits.read(table.log);
    // Two interleaved states; the stream's overflow tells the end (RFC 8878 §4.2.1.2).
    for (;;) {
      if (count > 253) throw corrupt('too many Huffman weights');
      weights[count++] = table.symbol[s1]!;
      s1 = table.base[s1]! + bits.read(table.bits[s1]!);
      if (bits.left < 0) {
        weights[count++] = table.symbol[s2]!;
        break;
      }
      weights[count++] = table.symbol[s2]!;
      s2 = table.base[s2]! + bits.read(table.bits[s2]!);
      if (bits.left < 0) {
        weights[count++] = table.symbol[s1]!;
        break;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < count; i++) {
    const w = weights[i]!;
    if (w > 11) throw corrupt('Huffman weight above 11');
    if (w > 0) total += 1 << (w - 1);
  }
  if (total === 0) throw corrupt('Huffman weights are all zero');
  const maxBits = 32 - Math.clz32(total);
  const rest = (1 << maxBits) - total;
  if (maxBits > 11 || (rest & (rest - 1)) !== 0) throw corrupt('Huffman weights do not complete a tree');
  weights[count++] = 32 - Math.clz32(rest);
  const size = 1 << maxBits;
  const symbol = new Uint8Array(size);
  const bits = new Uint8Array(size);
  let at = 0;
  for (let w = 1; w <= maxBits; w++) {
    const span = 1 << (w - 1);
    for (let s = 0; s < count; s++) {
      if (weights[s] !== w) continue;
      symbol.fill(s, at, at + span);
      bits.fill(maxBits + 1 - w, at, at + span);
      at += span;
    }
  }
  if (at !== size) throw corrupt('Huffman table does not fill');
  return [{ maxBits, symbol, bits }, used];
}

function decodeHuffmanStream(
  data: Uint8Array,
  start: number,
  end: number,
  table: HuffmanTable,
  out: Uint8Array,
  from: number,
  count: number,
): void {
  const bits = new BackwardBits(data, start, end);
  const { maxBits, symbol, bits: lengths } = table;
  const mask = (1 << maxBits) - 1;
  // The hot loop of literal-heavy layers, so the bit reads are inline: maxBits <= 11 plus a shift
  // of at most 7 fits in three bytes.
  let left = bits.left;
  for (let i = 0; i < count; i++) {
    const p = left - maxBits;
    let v: number;
    if (p >= 0) {
      const j = start + (p >> 3);
      v = ((data[j]! | (data[j + 1]! << 8) | (data[j + 2]! << 16)) >>> (p & 7)) & mask;
    } else v = bitsAt(data, start, p, maxBits);
    out[from + i] = symbol[v]!;
    left -= lengths[v]!;
  }
  bits.left = left;
  if (bits.left !== 0) throw corrupt('Huffman stream not consumed exactly');
}

// ---------------------------------------------------------------------------------------------
// The decoder

interface Frame {
  windowSize: number;
  contentSize: number | null;
  checksum: boolean;
  blockMax: number;
  produced: number;
  reps: [number, number, number];
  huffman: HuffmanTable | null;
  tables: [FseTable | null, FseTable | null, FseTable | null];
}

/**
 * Decode zstd as it arrives: {@link push} yields the output block by block (a generator, so the
 * consumer decides when the next block is decoded), {@link end} checks that the input stopped at
 * a frame boundary.
 *
 * @example
 * const d = new ZstdDecoder({ maxWindow: 128 << 20 });
 * for (const block of d.push(chunk)) out.write(block);
 * d.end();
 */
export class ZstdDecoder {
  readonly #maxWindow: number;
  #input: Uint8Array = new Uint8Array(0);
  #at = 0;
  /** Chunks received while a step waits for `#need` bytes, and the bytes queued in all. */
  #waiting: Uint8Array[] = [];
  #queued = 0;
  #need = 0;
  #frame: Frame | null = null;
  #skip = 0;
  #frames = 0;
  #history = new Uint8Array(0);
  #pos = 0;

  constructor(options: { maxWindow: number }) {
    this.#maxWindow = options.maxWindow;
  }

  /** Feed compressed bytes; yields each decoded block (a copy the caller may keep). */
  *push(chunk: Uint8Array): Generator<Uint8Array> {
    this.#waiting.push(chunk);
    this.#queued += chunk.length;
    // Join the pieces only once the step that waited has all it asked for: a body trickling in
    // small chunks costs one copy per byte, not one copy of the pending block per chunk.
    if (this.#queued - this.#at < this.#need) return;
    const pieces =
      this.#at < this.#input.length ? [this.#input.subarray(this.#at), ...this.#waiting] : this.#waiting;
    const joined = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    // Plain Uint8Array views, never Buffers: one element kind keeps the hot loops monomorphic.
    this.#input = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
    this.#waiting = [];
    this.#queued = this.#input.length;
    this.#at = 0;
    for (;;) {
      const block = this.#step();
      if (block === false) return;
      if (block !== null) yield block;
    }
  }

  /** The input ended: throws unless it ended after a complete frame. */
  end(): void {
    if (this.#frame !== null || this.#skip > 0 || this.#at < this.#input.length || this.#waiting.length > 0) {
      throw corrupt('the data ends in the middle of a frame');
    }
    if (this.#frames === 0) throw corrupt('no zstd frame');
  }

  /** Whether `n` bytes are there; when not, remembers `n` so that push() waits for them. */
  #available(n: number): boolean {
    this.#need = n;
    return this.#input.length - this.#at >= n;
  }

  /** One step: false when more input is needed, null for a step without output, else a block. */
  #step(): Uint8Array | null | false {
    const data = this.#input;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, data.length - this.#at);
      if (n === 0) {
        this.#need = 1;
        return false;
      }
      this.#at += n;
      this.#skip -= n;
      return null;
    }
    if (this.#frame === null) return this.#startFrame();
    const frame = this.#frame;
    if (!this.#available(3)) return false;
    const at = this.#at;
    const header = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw corrupt('reserved block type');
    const stored = type === 1 ? 1 : size;
    if (size > frame.blockMax || (type === 2 && size === 0)) throw corrupt('block larger than allowed');
    const trailer = last && frame.checksum ? 4 : 0;
    if (!this.#available(3 + stored + trailer)) return false;
    this.#reserve(frame.blockMax);
    const from = this.#pos;
    const body = at + 3;
    if (type === 0) {
      this.#history.set(data.subarray(body, body + size), this.#pos);
      this.#pos += size;
    } else if (type === 1) {
      this.#history.fill(data[body]!, this.#pos, this.#pos + size);
      this.#pos += size;
    } else {
      this.#compressedBlock(frame, data, body, body + size);
    }
    this.#at = body + stored + trailer;
    frame.produced += this.#pos - from;
    if (last) {
      if (frame.contentSize !== null && frame.produced !== frame.contentSize) {
        throw corrupt(`frame holds ${frame.produced} bytes, its header says ${frame.contentSize}`);
      }
      this.#frame = null;
      this.#frames++;
    }
    return this.#pos > from ? this.#history.slice(from, this.#pos) : null;
  }

  #startFrame(): null | false {
    const data = this.#input;
    const at = this.#at;
    if (!this.#available(4)) return false;
    const magic = (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (!this.#available(8)) return false;
      this.#skip =
        (data[at + 4]! | (data[at + 5]! << 8) | (data[at + 6]! << 16) | (data[at + 7]! << 24)) >>> 0;
      this.#at += 8;
      return null;
    }
    if (magic !== MAGIC) throw corrupt('not a zstd frame (bad magic number)');
    if (!this.#available(5)) return false;
    const descriptor = data[at + 4]!;
    const fcsFlag = descriptor >> 6;
    const single = (descriptor >> 5) & 1;
    if (descriptor & 8) throw corrupt('reserved bit set in the frame header');
    const dictBytes = [0, 1, 2, 4][descriptor & 3]!;
    const fcsBytes = [single, 2, 4, 8][fcsFlag]!;
    const headerSize = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
    if (!this.#available(headerSize)) return false;
    let p = at + 5;
    let windowSize = 0;
    if (!single) {
      const w = data[p++]!;
      const windowLog = 10 + (w >> 3);
      const base = 2 ** windowLog;
      windowSize = base + (base / 8) * (w & 7);
    }
    let dictId = 0;
    for (let i = 0; i < dictBytes; i++) dictId += data[p++]! * 2 ** (8 * i);
    if (dictId !== 0) throw corrupt(`the frame needs dictionary ${dictId}`);
    let contentSize: number | null = null;
    if (fcsBytes > 0) {
      contentSize = 0;
      for (let i = 0; i < fcsBytes; i++) contentSize += data[p++]! * 2 ** (8 * i);
      if (fcsBytes === 2) contentSize += 256;
    }
    if (single) windowSize = contentSize ?? 0;
    if (windowSize > this.#maxWindow) throw new ZstdWindowError(windowSize, this.#maxWindow);
    this.#at = at + headerSize;
    this.#frame = {
      windowSize,
      contentSize,
      checksum: Boolean(descriptor & 4),
      blockMax: Math.min(windowSize, BLOCK_MAX),
      produced: 0,
      reps: [1, 4, 8],
      huffman: null,
      tables: [null, null, null],
    };
    // A frame's matches never reach into the frame before it.
    this.#pos = 0;
    return null;
  }

  /** Room for `n` more bytes after the history a match may still reach (the last window). */
  #reserve(n: number): void {
    const frame = this.#frame!;
    if (this.#pos + n <= this.#history.length) return;
    const keep = Math.min(this.#pos, frame.windowSize);
    const capacity = frame.windowSize + Math.max(n, Math.min(frame.windowSize, MAX_SLACK));
    if (this.#history.length < capacity) {
      const size = Math.min(capacity, Math.max(keep + n, this.#history.length * 2, FIRST_ALLOCATION));
      const grown = new Uint8Array(size);
      grown.set(this.#history.subarray(this.#pos - keep, this.#pos));
      this.#history = grown;
    } else {
      this.#history.copyWithin(0, this.#pos - keep, this.#pos);
    }
    this.#pos = keep;
  }

  #compressedBlock(frame: Frame, data: Uint8Array, start: number, end: number): void {
    const [literals, literalsEnd] = this.#literals(frame, data, start, end);
    let p = literalsEnd;
    if (p >= end) throw corrupt('block without a sequences section');
    const limit = this.#pos + frame.blockMax;
    const out = this.#history;
    let count = data[p++]!;
    if (count >= 128) {
      if (count === 255) {
        if (p + 2 > end) throw corrupt('truncated sequences header');
        count = data[p]! + (data[p + 1]! << 8) + 0x7f00;
        p += 2;
      } else {
        if (p + 1 > end) throw corrupt('truncated sequences header');
        count = ((count - 128) << 8) + data[p++]!;
      }
    }
    let lit = 0;
    if (count > 0) {
      if (p >= end) throw corrupt('truncated sequences header');
      const modes = data[p++]!;
      if (modes & 3) throw corrupt('reserved bits set in the sequences header');
      const defaults = predefinedTables();
      const maxLogs = [9, 8, 9];
      const modeOf = [modes >> 6, (modes >> 4) & 3, (modes >> 2) & 3];
      for (let k = 0; k < 3; k++) {
        const mode = modeOf[k]!;
        if (mode === 0) frame.tables[k] = defaults[k]!;
        else if (mode === 1) {
          if (p >= end) throw corrupt('truncated RLE table');
          frame.tables[k] = rleTable(data[p++]!);
        } else if (mode === 2) {
          const [table, used] = readFse(data, p, end, maxLogs[k]!);
          frame.tables[k] = table;
          p += used;
        } else if (frame.tables[k] === null) throw corrupt('repeat mode without a previous table');
      }
      const ll = frame.tables[0]!;
      const of = frame.tables[1]!;
      const ml = frame.tables[2]!;
      const bits = new BackwardBits(data, p, end);
      let llState = bits.read(ll.log);
      let ofState = bits.read(of.log);
      let mlState = bits.read(ml.log);
      const reps = frame.reps;
      let [r0, r1, r2] = reps;
      let pos = this.#pos;
      const blockStart = pos;
      const windowSize = frame.windowSize;
      const before = frame.produced;
      for (let i = 0; i < count; i++) {
        const llCode = ll.symbol[llState]!;
        const ofCode = of.symbol[ofState]!;
        const mlCode = ml.symbol[mlState]!;
        if (llCode > 35 || mlCode > 52 || ofCode > 31) throw corrupt('invalid sequence code');
        const offsetValue = (ofCode < 30 ? 1 << ofCode : 2 ** ofCode) + bits.read(ofCode);
        const matchLength = ML_BASE[mlCode]! + bits.read(ML_BITS[mlCode]!);
        const literalLength = LL_BASE[llCode]! + bits.read(LL_BITS[llCode]!);
        let offset: number;
        if (offsetValue > 3) {
          offset = offsetValue - 3;
          r2 = r1;
          r1 = r0;
          r0 = offset;
        } else {
          const index = offsetValue - 1 + (literalLength === 0 ? 1 : 0);
          if (index === 0) offset = r0;
          else {
            offset = index === 1 ? r1 : index === 2 ? r2 : r0 - 1;
            if (index !== 1) r2 = r1;
            r1 = r0;
            r0 = offset;
          }
        }
        if (lit + literalLength > literals.length) throw corrupt('sequence uses more literals than decoded');
        if (pos + literalLength + matchLength > limit)
          throw corrupt('block decodes to more than its maximum');
        // Short copies byte by byte: cheaper than making a view for set() or copyWithin().
        if (literalLength < 32) for (let j = 0; j < literalLength; j++) out[pos + j] = literals[lit + j]!;
        else out.set(literals.subarray(lit, lit + literalLength), pos);
        pos += literalLength;
        lit += literalLength;
        if (offset === 0 || offset > before + (pos - blockStart) || offset > windowSize) {
          throw corrupt('match offset outside the window');
        }
        const from = pos - offset;
        if (matchLength < 32 || offset < matchLength) {
          for (let j = 0; j < matchLength; j++) out[pos + j] = out[from + j]!;
        } else out.copyWithin(pos, from, from + matchLength);
        pos += matchLength;
        if (i < count - 1) {
          llState = ll.base[llState]! + bits.read(ll.bits[llState]!);
          mlState = ml.base[mlState]! + bits.read(ml.bits[mlState]!);
          ofState = of.base[ofState]! + bits.read(of.bits[ofState]!);
        }
      }
      reps[0] = r0;
      reps[1] = r1;
      reps[2] = r2;
      if (bits.left !== 0) throw corrupt('sequences bitstream not consumed exactly');
      this.#pos = pos;
    } else if (p !== end) {
      throw corrupt('bytes after an empty sequences section');
    }
    const tail = literals.length - lit;
    if (this.#pos + tail > limit) throw corrupt('block decodes to more than its maximum');
    out.set(literals.subarray(lit), this.#pos);
    this.#pos += tail;
  }

  /** The literals section at `start`: the literals and where the sequences section begins. */
  #literals(frame: Frame, data: Uint8Array, start: number, end: number): [Uint8Array, number] {
    const b0 = data[start]!;
    const type = b0 & 3;
    const format = (b0 >> 2) & 3;
    const byte = (i: number) => {
      if (start + i >= end) throw corrupt('truncated literals header');
      return data[start + i]!;
    };
    if (type < 2) {
      let size: number;
      let header: number;
      if (format === 1) [size, header] = [(b0 >> 4) + (byte(1) << 4), 2];
      else if (format === 3) [size, header] = [(b0 >> 4) + (byte(1) << 4) + (byte(2) << 12), 3];
      else [size, header] = [b0 >> 3, 1];
      if (size > frame.blockMax) throw corrupt('literals larger than a block');
      const p = start + header;
      if (type === 0) {
        if (p + size > end) throw corrupt('truncated raw literals');
        return [data.subarray(p, p + size), p + size];
      }
      if (p >= end) throw corrupt('truncated RLE literals');
      return [new Uint8Array(size).fill(data[p]!), p + 1];
    }
    const header = format < 2 ? 3 : format + 2;
    let h = 0;
    for (let i = 0; i < header; i++) h += byte(i) * 2 ** (8 * i);
    const sizeBits = format < 2 ? 10 : format === 2 ? 14 : 18;
    const size = Math.floor(h / 16) % 2 ** sizeBits;
    const compressed = Math.floor(h / 2 ** (4 + sizeBits)) % 2 ** sizeBits;
    const streams = format === 0 ? 1 : 4;
    if (size > frame.blockMax) throw corrupt('literals larger than a block');
    let p = start + header;
    const last = p + compressed;
    if (last > end) throw corrupt('truncated compressed literals');
    if (type === 2) {
      const [table, used] = readHuffman(data, p, last);
      frame.huffman = table;
      p += used;
    } else if (frame.huffman === null) throw corrupt('treeless literals without a previous table');
    const table = frame.huffman;
    const literals = new Uint8Array(size);
    if (streams === 1) {
      decodeHuffmanStream(data, p, last, table, literals, 0, size);
    } else {
      if (p + 6 > last) throw corrupt('truncated jump table');
      const s1 = data[p]! | (data[p + 1]! << 8);
      const s2 = data[p + 2]! | (data[p + 3]! << 8);
      const s3 = data[p + 4]! | (data[p + 5]! << 8);
      const a = p + 6;
      const b = a + s1;
      const c = b + s2;
      const d = c + s3;
      if (d >= last) throw corrupt('jump table points past the literals');
      const quarter = (size + 3) >> 2;
      if (3 * quarter > size) throw corrupt('too few literals for four streams');
      decodeHuffmanStream(data, a, b, table, literals, 0, quarter);
      decodeHuffmanStream(data, b, c, table, literals, quarter, quarter);
      decodeHuffmanStream(data, c, d, table, literals, 2 * quarter, quarter);
      decodeHuffmanStream(data, d, last, table, literals, 3 * quarter, size - 3 * quarter);
    }
    return [literals, last];
  }
}
