# Strict build settings for membio's own tests and examples. They are never put
# on the membio library target: its users choose their own warnings and flags.

set(MEMBIO_SANITIZE "" CACHE STRING
    "Sanitizers for tests and examples, e.g. address,undefined (empty: none)")

if(MEMBIO_SANITIZE AND NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  message(FATAL_ERROR "membio: MEMBIO_SANITIZE needs GCC or Clang, "
                      "not ${CMAKE_CXX_COMPILER_ID}")
endif()

# The warnings every test and example compiles with, each an error; also
# used by the compile-fail tests, which call the compiler themselves.
set(MEMBIO_STRICT_WARNINGS "")
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(MEMBIO_STRICT_WARNINGS -Wall -Wextra -Wpedantic -Werror)
endif()

# Turns every warning into an error, and adds the sanitizers chosen in
# MEMBIO_SANITIZE, on one test or example target.
function(membio_strict_target target)
  target_compile_options(${target} PRIVATE ${MEMBIO_STRICT_WARNINGS})

  # Without recovery the first report aborts the run, so a test cannot pass
  # while the sanitizer is complaining.
  if(MEMBIO_SANITIZE)
    set(flags -fsanitize=${MEMBIO_SANITIZE} -fno-omit-frame-pointer
              -fno-sanitize-recover=all)
    target_compile_options(${target} PRIVATE ${flags})
    target_link_options(${target} PRIVATE ${flags})
  endif()
endfunction()
