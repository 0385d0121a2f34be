# Compiles one source file with -fsyntax-only and checks the outcome; each
# compile_fail.* test runs it as `cmake -P`.
#
# Variables, given with -D:
#   SOURCE        the .cpp file to compile
#   EXPECT        success: it must compile; failure: it must not, and the
#                 compiler must report the error that the file names
#   CXX_COMPILER  compiler of the calling build
#   CXX_FLAGS     its flags, a list: standard, warnings, -fsyntax-only
#   INCLUDE_DIRS  membio's and OpenSSL's include directories, a list
#
# A misuse file names its error in comment lines beginning with
# "// expected error: ". Their rest, joined by spaces, is a regular
# expression that must match an error reported in that file itself, so that
# an error in a header or an unrelated mistake does not pass for the misuse.

cmake_minimum_required(VERSION 3.16)

foreach(var SOURCE EXPECT CXX_COMPILER)
  if(NOT ${var})
    message(FATAL_ERROR "expect_failure: -D${var}=... is required")
  endif()
endforeach()

get_filename_component(name "${SOURCE}" NAME)

# Reads the pattern of the expected error from SOURCE's comments.
function(read_expected_error out_var)
  file(STRINGS "${SOURCE}" lines REGEX "^// expected error: ")
  list(TRANSFORM lines REPLACE "^// expected error: " "")
  list(JOIN lines " " pattern)

  if(NOT pattern)
    message(FATAL_ERROR "expect_failure: ${name} names no expected error")
  endif()
  set(${out_var} "${pattern}" PARENT_SCOPE)
endfunction()

# Compiles SOURCE and stores the exit status and all the compiler printed.
# LC_ALL=C makes GCC quote names with ' rather than typographic quotes.
function(compile out_result out_output)
  set(include_flags "")
  foreach(dir IN LISTS INCLUDE_DIRS)
    list(APPEND include_flags "-I${dir}")
  endforeach()

  execute_process(COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C
                          "${CXX_COMPILER}" ${CXX_FLAGS} ${include_flags}
                          "${SOURCE}"
                  RESULT_VARIABLE result
                  OUTPUT_VARIABLE output
                  ERROR_VARIABLE output)

  set(${out_result} "${result}" PARENT_SCOPE)
  set(${out_output} "${output}" PARENT_SCOPE)
endfunction()

# The control file must compile cleanly, warnings included.
function(expect_success)
  compile(result output)

  if(NOT result EQUAL 0)
    message(FATAL_ERROR "expect_failure: ${name} must compile, but:\n"
                        "${output}")
  endif()
  message(STATUS "expect_failure: ${name} compiles, as it must")
endfunction()

# A misuse file must fail, with the expected error located in the file.
function(expect_failure)
  read_expected_error(pattern)
  compile(result output)

  if(result EQUAL 0)
    message(FATAL_ERROR "expect_failure: ${name} compiled, but its misuse "
                        "must be rejected:\n${output}")
  endif()

  string(REPLACE "." "\\." file_pattern "${name}")
  if(NOT output MATCHES "${file_pattern}:[0-9]+:[0-9]+: error: ${pattern}")
    message(FATAL_ERROR "expect_failure: ${name} failed, but not with the "
                        "expected error '${pattern}':\n${output}")
  endif()
  message(STATUS "expect_failure: ${name} is rejected, as it must be")
endfunction()

if(EXPECT STREQUAL "success")
  expect_success()
elseif(EXPECT STREQUAL "failure")
  expect_failure()
else()
  message(FATAL_ERROR "expect_failure: EXPECT must be success or failure, "
                      "not '${EXPECT}'")
endif()
