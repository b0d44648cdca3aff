/**
 * @module core/heap
 * Keep the C allocator from handing freed memory back to the kernel between the buffers of a
 * long stream, so that a large download does not pay a page fault for every 4 KiB it reads.
 *
 * Every socket read in Node lands in a freshly allocated 64 KiB buffer (a stream hands its
 * chunks to a consumer that may keep them, so they cannot be reused). Garbage collection frees
 * them in batches; glibc's malloc then sees more than its trim threshold (128 KiB by default)
 * free at the top of the heap, gives it back to the kernel, and the next reads fault it in again,
 * page by page. Measured on a 256 MiB blob from a loopback registry: about 190 page faults per
 * MiB, 2.6 ms of system CPU per MiB, more than the hashing and the HTTP parsing together.
 *
 * glibc raises its thresholds by itself (mallopt(3), "dynamic mmap threshold"): when a block it
 * had mapped on its own is freed, allocations up to that block's size come from the heap from
 * then on, and up to twice that size may stay free at the heap's top. One such block of 31 MiB
 * (the dynamic limit is 32 MiB on 64-bit) is allocated and dropped here, untouched: it costs a
 * mapping, no resident memory, and the process may keep up to ~62 MiB of freed heap for reuse
 * afterwards instead of returning it at once. Other allocators (musl) ignore it harmlessly.
 *
 * The same holds for a server sending a file: each read of a file stream is a fresh buffer too.
 * The embedded registry serving a 1 GiB image to four parallel `curl`s went from about 950 to
 * about 1,450 MiB/s with the block dropped first (and 2 MiB reads instead of 1 MiB).
 */

/** Streams from this size on are long enough for page faults to matter. */
export const LONG_STREAM_BYTES = 16 * 1024 * 1024;

/** Below glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit), header included. */
const PRIME_BYTES = 31 * 1024 * 1024;

let primed = false;

/**
 * Once per process, before a long stream of large buffers: let freed buffers be reused without
 * faulting their pages in again. The block is freed by the next garbage collection, which a
 * stream of that size brings about within its first megabytes.
 */
export function keepFreedBuffersForReuse(): void {
  if (primed) return;
  primed = true;
  // Allocated uninitialised and never written: the kernel maps it without backing it.
  Buffer.allocUnsafeSlow(PRIME_BYTES);
}
