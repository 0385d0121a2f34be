// A certificate and the details people inspect: names, serial, validity,
// fingerprint and subject alternative names.
#ifndef MEMBIO_CERTIFICATE_HPP
#define MEMBIO_CERTIFICATE_HPP

#include <array>
#include <chrono>
#include <climits>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/error_queue.hpp"
#include "detail/handle.hpp"
#include "detail/openssl.hpp"
#include "error.hpp"

namespace membio {
namespace detail {

inline std::string name_to_string(const X509_NAME* name) {
  BioHandle bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return {};
  }

  char* text = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &text);
  return std::string(text, static_cast<std::size_t>(size));
}

// Days from 1970-01-01 to a civil date, so that a UTC calendar time becomes
// a time_point without timegm, which is not standard C++.
constexpr long long days_from_civil(long long year, unsigned month,
                                    unsigned day) noexcept {
  year -= month <= 2;
  const long long era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year =
      (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<long long>(day_of_era) - 719468;
}

inline std::chrono::system_clock::time_point to_time_point(
    const ASN1_TIME* time) {
  using Clock = std::chrono::system_clock;
  std::tm utc{};
  if (!time || ASN1_TIME_to_tm(time, &utc) != 1) return {};

  const long long days = days_from_civil(utc.tm_year + 1900LL,
                                         static_cast<unsigned>(utc.tm_mon + 1),
                                         static_cast<unsigned>(utc.tm_mday));
  const long long seconds =
      days * 86400 + utc.tm_hour * 3600LL + utc.tm_min * 60LL + utc.tm_sec;

  // A clock counting nanoseconds in 64 bits ends in 2262, yet certificates
  // that never expire say 9999-12-31: dates outside the clock's range
  // become its first or last instant rather than overflow.
  using std::chrono::duration_cast;
  const auto latest = duration_cast<std::chrono::seconds>(
      Clock::time_point::max().time_since_epoch());
  const auto earliest = duration_cast<std::chrono::seconds>(
      Clock::time_point::min().time_since_epoch());
  if (seconds > latest.count()) return Clock::time_point::max();
  if (seconds < earliest.count()) return Clock::time_point::min();
  return Clock::time_point(std::chrono::seconds(seconds));
}

inline std::string ip_to_string(const ASN1_OCTET_STRING* address) {
  const unsigned char* bytes = ASN1_STRING_get0_data(address);
  const int size = ASN1_STRING_length(address);
  char text[48] = {};

  if (size == 4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", bytes[0], bytes[1],
                  bytes[2], bytes[3]);
    return text;
  }

  // IPv6 is written as eight full groups, without "::" compression.
  if (size == 16) {
    std::string result;
    for (int group = 0; group < 8; ++group) {
      std::snprintf(text, sizeof text, group ? ":%x" : "%x",
                    bytes[2 * group] << 8 | bytes[2 * group + 1]);
      result += text;
    }
    return result;
  }
  return "<malformed address>";
}

inline std::string general_name_to_string(const GENERAL_NAME* name) {
  const auto text = [](const char* kind, const ASN1_STRING* value) {
    const auto* bytes =
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(value));
    return std::string(kind) +
           std::string(bytes,
                       static_cast<std::size_t>(ASN1_STRING_length(value)));
  };

  switch (name->type) {
    case GEN_DNS:
      return text("DNS:", name->d.dNSName);
    case GEN_IPADD:
      return "IP:" + ip_to_string(name->d.iPAddress);
    case GEN_EMAIL:
      return text("email:", name->d.rfc822Name);
    case GEN_URI:
      return text("URI:", name->d.uniformResourceIdentifier);
    default:
      return "other:<type " + std::to_string(name->type) + ">";
  }
}

}  // namespace detail

/// One X.509 certificate, shared by reference count with OpenSSL.
///
/// Copies are cheap and share the same certificate. The accessors read the
/// certificate each time; they never fail on a well-formed certificate,
/// return empty values for fields it lacks or cannot parse, and leave the
/// thread's OpenSSL error queue as they found it.
class Certificate {
 public:
  /// An empty object, holding no certificate.
  Certificate() noexcept = default;

  /// Takes a new reference to `certificate`; the caller keeps its own.
  explicit Certificate(X509* certificate) noexcept : x509_(certificate) {
    if (x509_) X509_up_ref(x509_.get());
  }

  Certificate(const Certificate& other) noexcept
      : Certificate(other.x509_.get()) {}

  Certificate& operator=(const Certificate& other) noexcept {
    if (this != &other) *this = Certificate(other);
    return *this;
  }

  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;
  ~Certificate() = default;

  /// Parses the first certificate of PEM text; reports a malformed or empty
  /// input through `code` ("openssl" category) and returns an empty object.
  static Certificate from_pem(std::string_view pem, std::error_code& code) {
    detail::ErrorQueueScope scope;
    code.clear();

    if (pem.size() > INT_MAX) {
      code = errc::invalid_argument;
      return Certificate();
    }

    detail::BioHandle bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    detail::X509Handle parsed(
        bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)
            : nullptr);
    if (!parsed) {
      detail::fail_from_queue("certificate from pem", code,
                              errc::invalid_argument);
    }
    return Certificate(std::move(parsed));
  }

  /// Whether this object holds a certificate.
  explicit operator bool() const noexcept { return x509_ != nullptr; }

  /// The subject's distinguished name, in RFC 2253 form ("CN=example.com").
  std::string subject() const {
    detail::ErrorQueueMark mark;
    return x509_ ? detail::name_to_string(X509_get_subject_name(x509_.get()))
                 : std::string();
  }

  /// The issuer's distinguished name, in RFC 2253 form.
  std::string issuer() const {
    detail::ErrorQueueMark mark;
    return x509_ ? detail::name_to_string(X509_get_issuer_name(x509_.get()))
                 : std::string();
  }

  /// The serial number in upper-case hexadecimal, without separators.
  std::string serial_number() const {
    detail::ErrorQueueMark mark;
    if (!x509_) return {};

    detail::BignumHandle number(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509_.get()), nullptr));
    detail::OpensslStringHandle hex(number ? BN_bn2hex(number.get()) : nullptr);
    return hex ? std::string(hex.get()) : std::string();
  }

  /// The start of the validity period.
  std::chrono::system_clock::time_point not_before() const {
    detail::ErrorQueueMark mark;
    return x509_ ? detail::to_time_point(X509_get0_notBefore(x509_.get()))
                 : std::chrono::system_clock::time_point();
  }

  /// The end of the validity period. A date past the clock's range (after
  /// 2262 where the system clock counts nanoseconds, as with the 9999-12-31
  /// of certificates that never expire) is given as `time_point::max()`.
  std::chrono::system_clock::time_point not_after() const {
    detail::ErrorQueueMark mark;
    return x509_ ? detail::to_time_point(X509_get0_notAfter(x509_.get()))
                 : std::chrono::system_clock::time_point();
  }

  /// The SHA-256 digest of the DER encoding: the fingerprint tools show.
  std::array<unsigned char, 32> sha256_fingerprint() const {
    detail::ErrorQueueMark mark;
    std::array<unsigned char, 32> digest{};
    unsigned int size = 0;
    if (x509_) X509_digest(x509_.get(), EVP_sha256(), digest.data(), &size);
    return digest;
  }

  /// The fingerprint as colon-separated upper-case hex ("AB:CD:...").
  std::string sha256_fingerprint_hex() const {
    std::string text;
    char pair[4] = {};
    for (const unsigned char byte : sha256_fingerprint()) {
      std::snprintf(pair, sizeof pair, text.empty() ? "%02X" : ":%02X", byte);
      text += pair;
    }
    return text;
  }

  /// The SHA-256 digest of the DER SubjectPublicKeyInfo: the value that
  /// public-key pins name (as in HPKP and `Context::pin_public_keys`).
  std::array<unsigned char, 32> public_key_sha256() const {
    detail::ErrorQueueMark mark;
    std::array<unsigned char, 32> digest{};
    unsigned char* der = nullptr;
    const int size =
        x509_ ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x509_.get()), &der) : 0;
    if (size > 0) SHA256(der, static_cast<std::size_t>(size), digest.data());
    OPENSSL_free(der);
    return digest;
  }

  /// The subject alternative names, each prefixed by its kind: "DNS:",
  /// "IP:", "email:" or "URI:".
  std::vector<std::string> subject_alt_names() const {
    detail::ErrorQueueMark mark;
    std::vector<std::string> names;
    if (!x509_) return names;

    detail::GeneralNamesHandle list(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(x509_.get(), NID_subject_alt_name, nullptr, nullptr)));
    const int count = list ? sk_GENERAL_NAME_num(list.get()) : 0;
    for (int index = 0; index < count; ++index) {
      names.push_back(detail::general_name_to_string(
          sk_GENERAL_NAME_value(list.get(), index)));
    }
    return names;
  }

  /// The certificate in PEM form.
  std::string to_pem() const {
    detail::ErrorQueueMark mark;
    detail::BioHandle bio(BIO_new(BIO_s_mem()));
    if (!x509_ || !bio || PEM_write_bio_X509(bio.get(), x509_.get()) != 1) {
      return {};
    }

    char* text = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &text);
    return std::string(text, static_cast<std::size_t>(size));
  }

  /// The OpenSSL object, still owned by this one.
  X509* native_handle() const noexcept { return x509_.get(); }

 private:
  explicit Certificate(detail::X509Handle owned) noexcept
      : x509_(std::move(owned)) {}

  detail::X509Handle x509_;
};

}  // namespace membio

#endif  // MEMBIO_CERTIFICATE_HPP
