# Strict build settings for membio's own tests and examples. They are never put
# on the membio library target: its users choose their own warnings and flags.

set(MEMBIO_SANITIZE "" CACHE STRING
    "Sanitizers for tests and examples, e.g. address,undefined or thread \
(empty: none)")

if(MEMBIO_SANITIZE AND NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  message(FATAL_ERROR "membio: MEMBIO_SANITIZE needs GCC or Clang, "
                      "not ${CMAKE_CXX_COMPILER_ID}")
endif()

# GCC and Clang refuse this pair themselves, but only when compiling; say
# it at configure time instead.
if(MEMBIO_SANITIZE MATCHES "thread" AND MEMBIO_SANITIZE MATCHES "address")
  message(FATAL_ERROR "membio: MEMBIO_SANITIZE cannot combine thread with "
                      "address; build each in its own directory")
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

  # ThreadSanitizer does not model std::atomic_thread_fence, which
  # standalone Asio uses, and GCC warns about each use (-Wtsan). TSan still
  # runs; it may only report a false race around such a fence, and a report
  # fails the test (TSan's exit status is then 66).
  if(MEMBIO_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-tsan)
  endif()
endfunction()
