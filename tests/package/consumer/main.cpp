// A program using membio from outside its source tree, built by the packaging
// tests through find_package(), add_subdirectory() and pkg-config. It uses
// only the version for now: it proves that the headers are found, compile
// and link, and that the macros and constants agree.
#include <membio/membio.hpp>

int main() {
  bool const same_version = membio::version_major == MEMBIO_VERSION_MAJOR &&
                            membio::version_minor == MEMBIO_VERSION_MINOR &&
                            membio::version_patch == MEMBIO_VERSION_PATCH;

  return same_version ? 0 : 1;
}
