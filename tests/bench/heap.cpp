// Counts heap allocations by replacing the C allocator's entry points, and
// reads the heap in use from glibc.
//
// Why this way. OpenSSL could be counted through CRYPTO_set_mem_functions
// and C++ through a replaced operator new, but GnuTLS 3.7 has no such hook
// (gnutls_global_set_mem_functions is deprecated and has done nothing since
// GnuTLS 3.3), and its helpers (nettle, GMP, libtasn1) call malloc directly.
// Every one of them, and operator new too, ends in malloc, calloc, realloc or
// an aligned form; glibc lets a program define these itself (see "Replacing
// malloc" in its manual), and the dynamic linker binds every library's calls to
// the program's definitions. So the functions below count each call and hand it
// on to glibc's own allocator, which glibc exports as __libc_malloc and
// friends: no LD_PRELOAD, no dlsym (which would itself allocate), the same
// method for all three implementations. The blocks stay glibc's, so
// malloc_usable_size and mallinfo2 keep working on them, and glibc's own
// free releases them: free is not replaced, since it allocates nothing and
// OpenSSL calls it often (ERR_clear_error frees 32 null pointers), which a
// wrapper would tax, membio's calls more than the others'.
//
// Counting is off unless a measurement turns it on, so the timed workloads
// pay one relaxed atomic load per allocation. Blocks, not bytes, are
// counted; a realloc counts as one allocation, since it may move the block.
//
// Bytes in use come from mallinfo2, glibc's own accounting over all arenas:
// `uordblks` (small blocks in use, with their 8-byte headers) plus `hblkhd`
// (blocks big enough to get their own mapping). A difference of two readings
// is what the code in between kept; freed blocks do not count, whichever
// cache they sit in, except glibc's per-thread cache of recently freed small
// blocks (at most 7 per size class), which stays counted as in use: a few
// kilobytes at most, nothing when divided over thousands of channels.
#include "heap.hpp"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#if !defined(__GLIBC__)
#error "membio_bench counts allocations through glibc's allocator"
#endif

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* block, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<std::uint64_t> allocations{0};

void* counted(void* block) noexcept {
  if (block && counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  return block;
}

std::size_t page_size() noexcept {
  return static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

extern "C" {

void* malloc(std::size_t size) noexcept { return counted(__libc_malloc(size)); }

void* calloc(std::size_t count, std::size_t size) noexcept {
  return counted(__libc_calloc(count, size));
}

void* realloc(void* block, std::size_t size) noexcept {
  return counted(__libc_realloc(block, size));
}

void* reallocarray(void* block, std::size_t count, std::size_t size) noexcept {
  std::size_t total = 0;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(block, total);
}

void* memalign(std::size_t alignment, std::size_t size) noexcept {
  return counted(__libc_memalign(alignment, size));
}

void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  return memalign(alignment, size);
}

int posix_memalign(void** block, std::size_t alignment,
                   std::size_t size) noexcept {
  const bool power_of_two = alignment && !(alignment & (alignment - 1));
  if (!power_of_two || alignment % sizeof(void*) != 0) return EINVAL;

  void* aligned = memalign(alignment, size);
  if (!aligned) return ENOMEM;
  *block = aligned;
  return 0;
}

void* valloc(std::size_t size) noexcept { return memalign(page_size(), size); }

void* pvalloc(std::size_t size) noexcept {
  const std::size_t page = page_size();
  return memalign(page, (size + page - 1) / page * page);
}

}  // extern "C"

namespace membio::bench {

void start_counting_allocations() noexcept {
  allocations.store(0, std::memory_order_relaxed);
  counting.store(true, std::memory_order_relaxed);
}

std::uint64_t stop_counting_allocations() noexcept {
  counting.store(false, std::memory_order_relaxed);
  return allocations.load(std::memory_order_relaxed);
}

bool counts_allocations_of(void* (*allocate)(std::size_t),
                           void (*release)(void*)) {
  start_counting_allocations();
  void* block = allocate(64);
  const std::uint64_t count = stop_counting_allocations();

  release(block);
  return block && count == 1;
}

std::size_t heap_bytes_in_use() noexcept {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

}  // namespace membio::bench
