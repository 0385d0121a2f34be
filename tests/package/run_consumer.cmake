# Builds and runs one consumer project against membio; the package_consumer
# and subdirectory_consumer tests run it as `cmake -P`. Any failure stops it.
#
# Variables, given with -D:
#   MODE                package: install membio into a prefix, then use it
#                       through find_package() and through pkg-config;
#                       subdirectory: pull membio in with add_subdirectory()
#   MEMBIO_SOURCE_DIR   membio's source tree
#   CONSUMER_SOURCE_DIR tests/package, holding the consumer projects
#   WORK_DIR            scratch directory, emptied first
#   CMAKE_GENERATOR     generator of the calling build
#   CXX_COMPILER        compiler of the calling build
#   CXX_STANDARD        CMAKE_CXX_STANDARD of the calling build, may be empty
#   BUILD_CONFIG        build type of the calling build, may be empty
#   PKG_CONFIG          pkg-config program (package mode)
#   OPENSSL_ROOT_DIR    where OpenSSL lives, if not in a standard place

cmake_minimum_required(VERSION 3.16)

foreach(var MODE MEMBIO_SOURCE_DIR CONSUMER_SOURCE_DIR WORK_DIR
            CMAKE_GENERATOR CXX_COMPILER)
  if(NOT ${var})
    message(FATAL_ERROR "run_consumer: -D${var}=... is required")
  endif()
endforeach()

# Runs one command, its output going to the test log, and stops on failure.
function(run_step what)
  message(STATUS "run_consumer: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "run_consumer: ${what} failed: ${result}")
  endif()
endfunction()

# Every configure gets the calling build's generator, compiler and standard,
# so a C++20 build also proves that consumers can use membio from C++20.
set(configure_args -G "${CMAKE_GENERATOR}"
                   "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
set(build_args "")
if(CXX_STANDARD)
  list(APPEND configure_args "-DCMAKE_CXX_STANDARD=${CXX_STANDARD}")
endif()
if(BUILD_CONFIG)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${BUILD_CONFIG}")
  list(APPEND build_args --config "${BUILD_CONFIG}")
endif()
if(OPENSSL_ROOT_DIR)
  list(APPEND configure_args "-DOPENSSL_ROOT_DIR=${OPENSSL_ROOT_DIR}")
endif()

# Configures and builds one consumer; building it also runs it.
function(build_consumer name source_dir)
  set(binary_dir "${WORK_DIR}/${name}-build")
  run_step("configure ${name}" "${CMAKE_COMMAND}" -S "${source_dir}"
           -B "${binary_dir}" ${configure_args} ${ARGN})
  run_step("build and run ${name}" "${CMAKE_COMMAND}" --build "${binary_dir}"
           ${build_args})
endfunction()

# Installs membio alone, as a packager would, into WORK_DIR/prefix.
function(install_membio prefix)
  set(binary_dir "${WORK_DIR}/membio-build")
  run_step("configure membio" "${CMAKE_COMMAND}" -S "${MEMBIO_SOURCE_DIR}"
           -B "${binary_dir}" ${configure_args}
           -DMEMBIO_BUILD_TESTS=OFF -DMEMBIO_BUILD_EXAMPLES=OFF
           "-DCMAKE_INSTALL_PREFIX=${prefix}")
  run_step("install membio" "${CMAKE_COMMAND}" --install "${binary_dir}"
           ${build_args})

  foreach(file include/membio/membio.hpp
               share/cmake/membio/membioConfig.cmake
               share/cmake/membio/membioConfigVersion.cmake
               share/cmake/membio/membio-targets.cmake
               share/pkgconfig/membio.pc)
    if(NOT EXISTS "${prefix}/${file}")
      message(FATAL_ERROR "run_consumer: install did not create ${file}")
    endif()
  endforeach()
endfunction()

# Fails unless find_package() took membio from the prefix just installed,
# rather than from some other copy on the machine.
function(check_found_in prefix)
  set(cache "${WORK_DIR}/package-build/CMakeCache.txt")
  file(STRINGS "${cache}" found_dir REGEX "^membio_DIR:")
  string(REGEX REPLACE "^membio_DIR:[A-Z]+=" "" found_dir "${found_dir}")
  if(NOT found_dir STREQUAL "${prefix}/share/cmake/membio")
    message(FATAL_ERROR "run_consumer: found membio in '${found_dir}', "
                        "not in ${prefix}")
  endif()
endfunction()

# Runs pkg-config on membio.pc and stores its output, split into arguments.
function(query_pkg_config out_var)
  execute_process(COMMAND "${PKG_CONFIG}" ${ARGN} membio
                  RESULT_VARIABLE result
                  OUTPUT_VARIABLE output
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "run_consumer: pkg-config ${ARGN} membio failed")
  endif()

  separate_arguments(output UNIX_COMMAND "${output}")
  set(${out_var} "${output}" PARENT_SCOPE)
endfunction()

# Checks membio.pc's version and flags, then compiles, links and runs the
# consumer's main.cpp with nothing but what pkg-config reports.
function(check_pkg_config prefix)
  if(NOT PKG_CONFIG)
    message(FATAL_ERROR "run_consumer: -DPKG_CONFIG=... is required")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${prefix}/share/pkgconfig")

  include("${MEMBIO_SOURCE_DIR}/cmake/membio_version.cmake")
  membio_read_version("${MEMBIO_SOURCE_DIR}/include/membio/version.hpp"
                      expected)
  query_pkg_config(version --modversion)
  if(NOT version STREQUAL expected)
    message(FATAL_ERROR "run_consumer: membio.pc says version ${version}, "
                        "version.hpp says ${expected}")
  endif()

  query_pkg_config(cflags --cflags)
  if(NOT "-I${prefix}/include" IN_LIST cflags)
    message(FATAL_ERROR "run_consumer: pkg-config --cflags membio gave "
                        "'${cflags}', without -I${prefix}/include")
  endif()

  query_pkg_config(libs --libs)
  set(standard 17)
  if(CXX_STANDARD)
    set(standard ${CXX_STANDARD})
  endif()
  set(program "${WORK_DIR}/pkg-config-consumer")
  run_step("compile with pkg-config flags" "${CXX_COMPILER}"
           -std=c++${standard} ${cflags}
           "${CONSUMER_SOURCE_DIR}/consumer/main.cpp" -o "${program}" ${libs})
  run_step("run the pkg-config consumer" "${program}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")

if(MODE STREQUAL "package")
  set(prefix "${WORK_DIR}/prefix")
  install_membio("${prefix}")
  build_consumer(package "${CONSUMER_SOURCE_DIR}/consumer"
                 "-DCMAKE_PREFIX_PATH=${prefix}")
  check_found_in("${prefix}")
  check_pkg_config("${prefix}")
elseif(MODE STREQUAL "subdirectory")
  build_consumer(subdirectory "${CONSUMER_SOURCE_DIR}/subdirectory"
                 "-DMEMBIO_SOURCE_DIR=${MEMBIO_SOURCE_DIR}")
else()
  message(FATAL_ERROR "run_consumer: MODE must be package or subdirectory, "
                      "not '${MODE}'")
endif()
