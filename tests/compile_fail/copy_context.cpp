// Misuse: copying a context. A context owns its SSL_CTX; channels share it
// by OpenSSL's reference count, not by copies, so Context is move-only.
//
// expected error: (use of deleted function|call to
// expected error: implicitly-deleted copy constructor of)
// expected error: '(const )?membio::Context<membio::(Role::)?client>
#include <membio/membio.hpp>

void copy_context(const membio::Context<membio::client>& context) {
  const membio::Context<membio::client> copy(context);
  static_cast<void>(copy);
}
