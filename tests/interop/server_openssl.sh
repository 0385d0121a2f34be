#!/usr/bin/env bash
# `openssl s_client` against echo_server with TLS VERSION (1.2 or 1.3)
# pinned on the server: a line goes out, the same line comes back, then
# s_client closes and echo_server answers with its own close_notify.
source "$(dirname "$0")/common.sh" || exit 1
version=$1
require openssl
require_programs ECHO_SERVER

start_echo_server server --write-cert "$work_dir/server.pem" \
  "--tls$version" --max-connections 1
server_pid=$last_pid

# s_client ends at the end of its input without waiting for the reply, so
# its input stays open until the echo has arrived.
open_input client
start client openssl s_client -connect "127.0.0.1:$port" -brief \
  -CAfile "$work_dir/server.pem" -verify_hostname localhost \
  -verify_return_error
client_pid=$last_pid
echo 'hello membio' >&3
wait_for_line "$work_dir/client.out" '^hello membio$'
close_input

expect_exit "$client_pid" 0
expect_exit "$server_pid" 0
expect_line "$work_dir/client.err" "Protocol version: TLSv$version"
expect_line "$work_dir/client.err" "Verification: OK"
expect_line "$work_dir/server.err" "#1 .*: established, TLSv$version,"
expect_line "$work_dir/server.err" "#1 .*: finished, 13 bytes echoed"
expect_line "$work_dir/server.err" "accepted 1, finished 1, failed 0"
