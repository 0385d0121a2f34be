# Runs one example for CTest and passes only when it exits with 0 and its
# standard output matches EXPECT, a regular expression. CTest on its own
# checks one or the other: once an output pattern is set it ignores the
# exit status.
#
#   cmake -DPROGRAM=<path> -DEXPECT=<regex> [-DARGUMENTS=<list>]
#         -P run_example.cmake

execute_process(COMMAND "${PROGRAM}" ${ARGUMENTS}
                RESULT_VARIABLE status
                OUTPUT_VARIABLE output
                ERROR_VARIABLE errors)

if(NOT status STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} exited with ${status}\n"
                      "output:\n${output}\nerrors:\n${errors}")
endif()

if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "${PROGRAM} exited with 0 but its output does not "
                      "match\n${EXPECT}\noutput:\n${output}")
endif()
