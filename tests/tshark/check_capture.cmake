# Checks with tshark that membio's captures decrypt with nothing but the
# file: no key log file, no preferences. For TLS 1.2 and TLS 1.3, with the
# key log on the client's context and then on the server's, tshark must
# find the ClientHello and the ServerHello, print the plaintext of both
# directions, see no TCP analysis problem (lost segment, retransmission,
# window trouble) and find every IPv4 and TCP checksum good. A missing
# tshark fails the test, since nothing would be checked.
#
#   cmake -DHELPER=<tshark_capture> -DWORK_DIR=<dir> -P check_capture.cmake

find_program(TSHARK tshark)
if(NOT TSHARK)
  message(FATAL_ERROR "tshark not found: install it (./quickstart test does, "
                      "from the tshark package)")
endif()

# tshark reads its preferences from an empty directory, so that a user's
# profile (a key log file set for TLS, say) cannot decrypt what the file's
# own secrets do not.
set(config_dir "${WORK_DIR}/wireshark-config")
file(REMOVE_RECURSE "${config_dir}")
file(MAKE_DIRECTORY "${config_dir}")
set(ENV{WIRESHARK_CONFIG_DIR} "${config_dir}")

# Runs tshark with the arguments after `output`; fails unless it succeeds.
# Its stderr is left out: as root it warns about being root.
function(run_tshark output)
  execute_process(COMMAND "${TSHARK}" ${ARGN}
                  OUTPUT_VARIABLE printed
                  ERROR_VARIABLE complaints
                  RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "tshark ${ARGN} failed (${result}): ${complaints}")
  endif()
  set(${output} "${printed}" PARENT_SCOPE)
endfunction()

function(expect text printed context)
  string(FIND "${printed}" "${text}" found)
  if(found EQUAL -1)
    message(FATAL_ERROR "${context}: tshark did not show \"${text}\"; it "
                        "printed:\n${printed}")
  endif()
endfunction()

# Fails if any packet of `file` matches the display filter `filter`.
function(expect_no_packet file filter context)
  run_tshark(matching -r "${file}" -o tcp.check_checksum:TRUE
             -o ip.check_checksum:TRUE -Y "${filter}")
  if(NOT matching STREQUAL "")
    message(FATAL_ERROR "${context}: packets match \"${filter}\":\n"
                        "${matching}")
  endif()
endfunction()

foreach(version 1.2 1.3)
  foreach(side client server)
    set(file "${WORK_DIR}/tls${version}-${side}-key-log.pcapng")
    set(context "TLS ${version}, key log on the ${side}")
    file(REMOVE "${file}")

    execute_process(COMMAND "${HELPER}" "${file}" ${version} ${side}
                    RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
      message(FATAL_ERROR "${context}: ${HELPER} failed (${result})")
    endif()

    run_tshark(client_hello -r "${file}" -Y "tls.handshake.type == 1")
    expect("Client Hello" "${client_hello}" "${context}")

    run_tshark(server_hello -r "${file}" -Y "tls.handshake.type == 2")
    expect("TLSv${version}" "${server_hello}" "${context}")
    expect("Server Hello" "${server_hello}" "${context}")

    run_tshark(plaintext -r "${file}" -q -z follow,tls,ascii,0)
    expect("membio says hello over TLS ${version}" "${plaintext}" "${context}")
    expect("membio hears you over TLS ${version}" "${plaintext}" "${context}")
    expect("membio bulk data ends here" "${plaintext}" "${context}")

    # A checksum tshark did not verify is neither good nor bad, so every
    # packet must be shown good, not merely none bad.
    expect_no_packet("${file}" "tcp.analysis.flags" "${context}")
    expect_no_packet("${file}"
                     "tcp.checksum.status != 1 || ip.checksum.status != 1"
                     "${context}")
    message(STATUS "${context}: tshark decrypts ${file}")
  endforeach()
endforeach()
