// What the benchmark learns about the heap: how many blocks a piece of code
// allocates, and how many bytes are in use.
#ifndef MEMBIO_BENCH_HEAP_HPP
#define MEMBIO_BENCH_HEAP_HPP

#include <cstddef>
#include <cstdint>

namespace membio::bench {

/// Starts counting calls that allocate a heap block (malloc, calloc,
/// realloc and the aligned forms), made by any library in the process:
/// OpenSSL, GnuTLS and its helpers, the C++ runtime's operator new.
void start_counting_allocations() noexcept;

/// Stops counting and returns the calls counted since the start.
std::uint64_t stop_counting_allocations() noexcept;

/// Whether an allocation made through `allocate` and released through
/// `release` was counted: proof that the library owning them goes through
/// the counting allocator.
bool counts_allocations_of(void* (*allocate)(std::size_t),
                           void (*release)(void*));

/// Bytes of heap in use now, blocks and their headers, by the C library's
/// own accounting.
std::size_t heap_bytes_in_use() noexcept;

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_HEAP_HPP
