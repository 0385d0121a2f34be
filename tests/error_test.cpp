// Tests of error.hpp: the two error categories, errc and membio::error.
#include <membio/error.hpp>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

namespace {

using Catch::Matchers::ContainsSubstring;

constexpr int first_errc = 1;
constexpr int last_errc = 15;

std::error_code openssl_code(unsigned long packed) {
  return {static_cast<int>(packed), membio::openssl_category()};
}

}  // namespace

TEST_CASE("the two error categories are named membio and openssl",
          "[error][category]") {
  CHECK(std::string(membio::membio_category().name()) == "membio");
  CHECK(std::string(membio::openssl_category().name()) == "openssl");

  CHECK(&membio::membio_category() == &membio::membio_category());
  CHECK(membio::membio_category() != membio::openssl_category());
}

TEST_CASE("errc values keep their released numbers", "[error][errc]") {
  static_assert(static_cast<int>(membio::errc::truncated) == 1);
  static_assert(static_cast<int>(membio::errc::closed) == 2);
  static_assert(static_cast<int>(membio::errc::empty_object) == 3);
  static_assert(static_cast<int>(membio::errc::no_server_name) == 4);
  static_assert(static_cast<int>(membio::errc::invalid_argument) == 5);
  static_assert(static_cast<int>(membio::errc::stalled) == 6);
  static_assert(static_cast<int>(membio::errc::callback_failed) == 7);
  static_assert(static_cast<int>(membio::errc::no_certificate) == 8);
  static_assert(static_cast<int>(membio::errc::input_ended) == 9);
  static_assert(static_cast<int>(membio::errc::wrong_handshake_state) == 10);
  static_assert(static_cast<int>(membio::errc::unsupported_by_version) == 11);
  static_assert(static_cast<int>(membio::errc::no_session) == 12);
  static_assert(static_cast<int>(membio::errc::input_limit) == 13);
  static_assert(static_cast<int>(membio::errc::output_limit) == 14);
  static_assert(static_cast<int>(membio::errc::closed_in_handshake) == 15);
  static_assert(std::is_error_code_enum_v<membio::errc>);

  SUCCEED("the values are checked at compile time");
}

TEST_CASE("every errc value has its own non-empty message", "[error][errc]") {
  std::set<std::string> seen;

  for (int value = first_errc; value <= last_errc; ++value) {
    const std::string message = membio::membio_category().message(value);
    INFO("errc " << value << ": " << message);

    CHECK_FALSE(message.empty());
    CHECK_THAT(message, !ContainsSubstring("unknown membio error"));
    CHECK(seen.insert(message).second);
  }
}

TEST_CASE("an errc value membio does not know still gets a message",
          "[error][errc]") {
  const std::string message = membio::membio_category().message(999);

  CHECK_THAT(message, ContainsSubstring("999"));
}

TEST_CASE("errc converts to an error code of the membio category",
          "[error][errc]") {
  const std::error_code made = make_error_code(membio::errc::truncated);
  const std::error_code converted = membio::errc::truncated;

  CHECK(made == converted);
  CHECK(converted.value() == 1);
  CHECK(&converted.category() == &membio::membio_category());
  CHECK(converted == membio::errc::truncated);
  CHECK(converted != membio::errc::closed);
  CHECK_THAT(converted.message(), ContainsSubstring("close_notify"));
}

TEST_CASE("openssl category names the reason and library of a packed code",
          "[error][category]") {
  // Nothing here makes OpenSSL load its error strings first: run alone, as
  // ctest runs each case, this checks that the category loads them itself.
  const unsigned long packed =
      ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER);

  const std::error_code code = openssl_code(packed);

  CHECK(code.message() == "wrong version number (SSL routines)");
  CHECK(std::string(code.category().name()) == "openssl");
}

TEST_CASE("openssl category names a library-only code without failing",
          "[error][category]") {
  // As above: no other OpenSSL call comes first.
  const unsigned long packed = ERR_PACK(ERR_LIB_PEM, 0, 4095);

  const std::string message = openssl_code(packed).message();

  INFO(message);
  CHECK_THAT(message, ContainsSubstring("4095"));
  CHECK_THAT(message, ContainsSubstring("PEM routines"));
}

TEST_CASE("membio error is a system_error whose what is exactly the message",
          "[error][exception]") {
  static_assert(std::is_base_of_v<std::system_error, membio::error>);
  const membio::error thrown(membio::errc::stalled, "handshake: no progress");

  CHECK(std::string(thrown.what()) == "handshake: no progress");
  CHECK(thrown.code() == membio::errc::stalled);

  try {
    throw thrown;
  } catch (const std::system_error& caught) {
    CHECK(std::string(caught.what()) == "handshake: no progress");
    CHECK(caught.code() == membio::errc::stalled);
  }
}

TEST_CASE("a copied membio error keeps its code and message",
          "[error][exception]") {
  static_assert(std::is_nothrow_copy_constructible_v<membio::error>);
  const membio::error original(membio::errc::closed, "write: closed");

  const membio::error copy = original;

  CHECK(std::string(copy.what()) == "write: closed");
  CHECK(copy.code() == original.code());
}
