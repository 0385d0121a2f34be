// Views of byte buffers that the caller owns, as the I/O functions take them.
#ifndef MEMBIO_BYTES_HPP
#define MEMBIO_BYTES_HPP

#include <cstddef>
#include <cstring>
#include <iterator>
#include <string_view>
#include <type_traits>
#include <utility>

namespace membio {
namespace detail {

template <class T>
inline constexpr bool is_byte_v =
    std::is_same_v<T, char> || std::is_same_v<T, unsigned char> ||
    std::is_same_v<T, signed char> || std::is_same_v<T, std::byte>;

template <class Container>
using element_of =
    std::remove_pointer_t<decltype(std::data(std::declval<Container&>()))>;

// A contiguous container of one-byte elements: std::string, std::vector,
// std::array, std::span, arrays. Arrays of const char are left out on
// purpose: a string literal would bring its terminating NUL along.
template <class Container, class = void>
struct is_byte_container : std::false_type {};

template <class Container>
struct is_byte_container<
    Container, std::void_t<element_of<Container>,
                           decltype(std::size(std::declval<Container&>()))>>
    : std::bool_constant<is_byte_v<std::remove_cv_t<element_of<Container>>> &&
                         !(std::is_array_v<Container> &&
                           std::is_same_v<element_of<Container>, const char>)> {
};

template <class Container>
inline constexpr bool is_byte_container_v =
    is_byte_container<std::remove_reference_t<Container>>::value;

}  // namespace detail

/// A read-only view of bytes that the caller owns; it is used only during the
/// call it is passed to and never kept.
class ConstBytes {
 public:
  /// An empty view.
  constexpr ConstBytes() noexcept = default;

  /// Views `size` bytes at `data`.
  ConstBytes(const void* data, std::size_t size) noexcept
      : data_(static_cast<const unsigned char*>(data)), size_(size) {}

  /// Views any contiguous container of one-byte elements.
  template <class Container,
            std::enable_if_t<detail::is_byte_container_v<Container>, int> = 0>
  ConstBytes(const Container& bytes) noexcept  // NOLINT: implicit on purpose
      : ConstBytes(std::data(bytes), std::size(bytes)) {}

  /// Views the characters of `text`.
  ConstBytes(std::string_view text) noexcept  // NOLINT: implicit on purpose
      : ConstBytes(text.data(), text.size()) {}

  /// Views a NUL-terminated string, without its terminator.
  ConstBytes(const char* text) noexcept  // NOLINT: implicit on purpose
      : ConstBytes(text, std::strlen(text)) {}

  const unsigned char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A writable view of a buffer that the caller owns, filled during the call
/// it is passed to and never kept.
class MutableBytes {
 public:
  /// An empty view.
  constexpr MutableBytes() noexcept = default;

  /// Views `size` writable bytes at `data`.
  MutableBytes(void* data, std::size_t size) noexcept
      : data_(static_cast<unsigned char*>(data)), size_(size) {}

  /// Views the storage of any contiguous container of one-byte elements.
  template <class Container,
            std::enable_if_t<detail::is_byte_container_v<Container> &&
                                 !std::is_const_v<std::remove_reference_t<
                                     detail::element_of<Container>>>,
                             int> = 0>
  MutableBytes(Container& bytes) noexcept  // NOLINT: implicit on purpose
      : MutableBytes(std::data(bytes), std::size(bytes)) {}

  unsigned char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace membio

#endif  // MEMBIO_BYTES_HPP
