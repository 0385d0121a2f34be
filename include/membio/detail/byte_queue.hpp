// ByteQueue: the buffer between the caller and OpenSSL for one direction of
// ciphertext, and the BIO through which OpenSSL reads or writes it.
#ifndef MEMBIO_DETAIL_BYTE_QUEUE_HPP
#define MEMBIO_DETAIL_BYTE_QUEUE_HPP

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "handle.hpp"
#include "openssl.hpp"

namespace membio::detail {

/// Bytes in one contiguous block: read from the front, appended at the
/// back. The caller can write straight into the space at the back
/// (`prepare`, `commit`) and read straight from the front (`data`,
/// `consume`), so a socket can fill or empty it without a copy of membio's.
///
/// An empty queue gives its storage back, so that an idle channel holds no
/// buffer at all; the price is one allocation when bytes come again. A
/// queue that a burst grew moves its few remaining bytes to a smaller block
/// once most of it is read, so that no peak stays held.
class ByteQueue {
 public:
  /// The unread bytes.
  const unsigned char* data() const noexcept { return storage_.get() + begin_; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }

  /// Bytes of storage held, used or not.
  std::size_t capacity() const noexcept { return capacity_; }

  /// Writable space of at least `size` bytes after the unread ones, valid
  /// until the next call that changes the queue; null if allocation fails.
  unsigned char* prepare(std::size_t size) {
    if (capacity_ - end_ < size && !make_room(size)) return nullptr;
    return storage_.get() + end_;
  }

  /// Appends `size` bytes that were written into the prepared space.
  void commit(std::size_t size) noexcept {
    end_ += std::min(size, capacity_ - end_);
  }

  /// Appends a copy of `size` bytes; false if allocation fails.
  bool append(const unsigned char* bytes, std::size_t size) {
    if (size == 0) return true;
    unsigned char* space = prepare(size);
    if (!space) return false;

    std::memcpy(space, bytes, size);
    commit(size);
    return true;
  }

  /// Drops `size` bytes from the front.
  void consume(std::size_t size) noexcept {
    begin_ += std::min(size, this->size());
    if (begin_ == end_) {
      clear();
    } else if (capacity_ > kShrinkAbove && this->size() <= capacity_ / 4) {
      shrink();
    }
  }

  /// Drops everything and gives the storage back.
  void clear() noexcept {
    storage_.reset();
    capacity_ = begin_ = end_ = 0;
  }

  /// Whether reading an empty queue means the end of the stream (true) or
  /// "no data yet" (false, the default).
  bool ended = false;

  /// While `held_back_by` holds `hold_back_at` bytes or more, reading says
  /// "no data yet": OpenSSL answers some records (key update requests)
  /// within the read that takes them, so the input must wait while the
  /// output is full, or a peer that never takes the answers grows it.
  const ByteQueue* held_back_by = nullptr;
  std::size_t hold_back_at = SIZE_MAX;

  /// Whether writes are dropped: once close_notify is sent, TLS sends
  /// nothing more, yet OpenSSL 3.0 still answers a peer's key update
  /// requests.
  bool discards_writes = false;

  bool held_back() const noexcept {
    return held_back_by && held_back_by->size() >= hold_back_at;
  }

 private:
  // Moves the unread bytes to the front, and grows the block if that does
  // not free enough, at least doubling so that appends stay cheap.
  bool make_room(std::size_t size) {
    const std::size_t used = this->size();
    if (size > SIZE_MAX / 2 - used) return false;

    const std::size_t needed = used + size;
    if (needed <= capacity_) {
      std::memmove(storage_.get(), data(), used);
    } else {
      const std::size_t grown = std::max({needed, 2 * capacity_, kMinimum});
      std::unique_ptr<unsigned char[]> bigger(
          new (std::nothrow) unsigned char[grown]);
      if (!bigger) return false;
      if (used) std::memcpy(bigger.get(), data(), used);
      storage_ = std::move(bigger);
      capacity_ = grown;
    }
    begin_ = 0;
    end_ = used;
    return true;
  }

  // Moves the unread bytes into a block twice their size. Fails harmlessly:
  // without memory for the smaller block, the larger one stays.
  void shrink() noexcept {
    const std::size_t used = size();
    const std::size_t smaller = std::max(2 * used, kMinimum);
    std::unique_ptr<unsigned char[]> block(
        new (std::nothrow) unsigned char[smaller]);
    if (!block) return;

    std::memcpy(block.get(), data(), used);
    storage_ = std::move(block);
    capacity_ = smaller;
    begin_ = 0;
    end_ = used;
  }

  // The smallest block: a few small records' worth. glibc keeps freed
  // blocks up to 1032 bytes in a per-thread cache, so that a connection
  // sending a small record per turn allocates and frees from it cheaply
  // (about 500 instructions a turn fewer than with 4 KiB blocks).
  static constexpr std::size_t kMinimum = 1024;

  // Blocks up to this size are kept until empty: a few records' worth,
  // which a busy connection reuses at once.
  static constexpr std::size_t kShrinkAbove = 64 * 1024;

  std::unique_ptr<unsigned char[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// OpenSSL's side of a ByteQueue: a BIO whose reads take from the queue's
// front and whose writes append to its back. The BIO does not own the queue.
inline int queue_bio_write(BIO* bio, const char* bytes, std::size_t size,
                           std::size_t* written) {
  auto* queue = static_cast<ByteQueue*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (!queue->discards_writes &&
      !queue->append(reinterpret_cast<const unsigned char*>(bytes), size)) {
    return 0;
  }

  *written = size;
  return 1;
}

inline int queue_bio_read(BIO* bio, char* out, std::size_t size,
                          std::size_t* read) {
  auto* queue = static_cast<ByteQueue*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (queue->held_back()) {
    BIO_set_retry_read(bio);
    return 0;
  }
  if (queue->empty()) {
    // Empty is "try again later" until the caller says the input ended.
    if (!queue->ended) BIO_set_retry_read(bio);
    return 0;
  }

  const std::size_t taken = std::min(size, queue->size());
  std::memcpy(out, queue->data(), taken);
  queue->consume(taken);
  *read = taken;
  return 1;
}

inline long queue_bio_ctrl(BIO* bio, int command, long, void*) {
  const auto* queue = static_cast<const ByteQueue*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_PENDING:
      return static_cast<long>(std::min<std::size_t>(queue->size(), LONG_MAX));
    case BIO_CTRL_EOF:
      return queue->empty() && queue->ended;
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

inline const BIO_METHOD* queue_bio_method() {
  // Made once and kept for the life of the process, like OpenSSL's own
  // methods; many BIOs share it.
  static BIO_METHOD* const method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                    "membio byte queue");
    if (made) {
      BIO_meth_set_write_ex(made, &queue_bio_write);
      BIO_meth_set_read_ex(made, &queue_bio_read);
      BIO_meth_set_ctrl(made, &queue_bio_ctrl);
    }
    return made;
  }();
  return method;
}

/// Makes a BIO over `queue`, which must outlive it.
inline BioHandle make_queue_bio(ByteQueue& queue) {
  const BIO_METHOD* method = queue_bio_method();
  BioHandle bio(method ? BIO_new(method) : nullptr);
  if (bio) {
    BIO_set_data(bio.get(), &queue);
    BIO_set_init(bio.get(), 1);
  }
  return bio;
}

}  // namespace membio::detail

#endif  // MEMBIO_DETAIL_BYTE_QUEUE_HPP
