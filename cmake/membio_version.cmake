# Reads membio's version from include/membio/version.hpp, the one place it is
# written, so that project(), the package version file and membio.pc can never
# disagree with what the headers report.

function(membio_read_version header out_var)
  if(NOT EXISTS "${header}")
    message(FATAL_ERROR "membio: cannot read the version: ${header} is missing")
  endif()

  file(STRINGS "${header}" lines
       REGEX "^#define[ \t]+MEMBIO_VERSION_(MAJOR|MINOR|PATCH)[ \t]+[0-9]+")

  set(parts "")
  foreach(part MAJOR MINOR PATCH)
    set(pattern "#define[ \t]+MEMBIO_VERSION_${part}[ \t]+([0-9]+)")
    string(REGEX MATCH "${pattern}" found "${lines}")
    if(NOT found)
      message(FATAL_ERROR
              "membio: ${header} does not define MEMBIO_VERSION_${part}")
    endif()
    list(APPEND parts "${CMAKE_MATCH_1}")
  endforeach()

  list(JOIN parts "." version)
  set(${out_var} "${version}" PARENT_SCOPE)
endfunction()
