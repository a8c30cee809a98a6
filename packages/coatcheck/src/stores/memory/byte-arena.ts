/**
 * Blocks of bytes outside the JavaScript heap, for records the garbage collector should not walk.
 *
 * Blocks come in power-of-two sizes from 64 bytes; blocks of a size share 1 MiB buffers (larger
 * blocks get a buffer each, released when freed). A block is named by its size class and its
 * number within that class. Freed blocks are reused by the next block of their size.
 */

const SMALLEST_SHIFT = 6;
const BUFFER_SHIFT = 20;
/** Largest block: 1 GiB, far above any session record (a record's string header holds 30 bits of length). */
const LARGEST_SHIFT = 30;

/** The blocks of one store. */
export class ByteArena {
  readonly #buffers: (Buffer | undefined)[][] = [];
  readonly #free: number[][] = [];
  readonly #unused: number[] = [];

  /** The size class whose blocks hold `bytes` bytes. @throws RangeError above 1 GiB. */
  static sizeClassOf(bytes: number): number {
    let shift = SMALLEST_SHIFT;
    while (1 << shift < bytes) {
      shift++;
      if (shift > LARGEST_SHIFT) throw new RangeError('a session record over 1 GiB cannot be stored');
    }
    return shift - SMALLEST_SHIFT;
  }

  /** Bytes a block of this class holds. */
  static blockBytes(sizeClass: number): number {
    return 1 << (sizeClass + SMALLEST_SHIFT);
  }

  /** Takes a block of the class: a freed one if there is one, else a new one. */
  allocate(sizeClass: number): number {
    while (this.#buffers.length <= sizeClass) {
      this.#buffers.push([]);
      this.#free.push([]);
      this.#unused.push(0);
    }
    const free = this.#free[sizeClass]!;
    const block = free.length > 0 ? free.pop()! : this.#unused[sizeClass]!++;
    const perBuffer = perBufferShift(sizeClass);
    const buffers = this.#buffers[sizeClass]!;
    const index = block >>> perBuffer;
    if (buffers[index] === undefined) {
      buffers[index] = Buffer.allocUnsafeSlow(Math.max(1 << BUFFER_SHIFT, ByteArena.blockBytes(sizeClass)));
    }
    return block;
  }

  /** Gives a block back. A block with a buffer of its own gives its memory back too. */
  release(sizeClass: number, block: number): void {
    this.#free[sizeClass]!.push(block);
    if (perBufferShift(sizeClass) === 0) this.#buffers[sizeClass]![block] = undefined;
  }

  /** The buffer holding the block; its bytes start at {@link offsetOf}. */
  bufferOf(sizeClass: number, block: number): Buffer {
    return this.#buffers[sizeClass]![block >>> perBufferShift(sizeClass)]!;
  }

  /** Offset of the block's first byte in {@link bufferOf}. */
  offsetOf(sizeClass: number, block: number): number {
    const perBuffer = perBufferShift(sizeClass);
    return (block & ((1 << perBuffer) - 1)) << (sizeClass + SMALLEST_SHIFT);
  }

  /** Drops every block and buffer. */
  clear(): void {
    this.#buffers.length = 0;
    this.#free.length = 0;
    this.#unused.length = 0;
  }
}

/** log2 of the number of blocks one buffer of the class holds. */
const perBufferShift = (sizeClass: number): number => Math.max(0, BUFFER_SHIFT - sizeClass - SMALLEST_SHIFT);
