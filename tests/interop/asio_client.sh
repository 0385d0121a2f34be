#!/usr/bin/env bash
# asio_client sends a line and prints the reply, then closes cleanly:
# against echo_server, the same line comes back; against `openssl s_server
# -rev`, the line reversed.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
[[ -n ${ASIO_CLIENT:-} ]] ||
  fail "asio_client was not built: asio.hpp not found (libasio-dev)"
require_programs ASIO_CLIENT ECHO_SERVER

start_echo_server server --write-cert "$work_dir/echo.pem" \
  --max-connections 1
server_pid=$last_pid
run to_echo "$ASIO_CLIENT" --ca "$work_dir/echo.pem" localhost "$port" \
  'hello membio' || fail "asio_client failed against echo_server"
[[ $(cat "$work_dir/to_echo.out") == 'hello membio' ]] || fail "wrong echo"
expect_line "$work_dir/to_echo.err" "TLSv1.3"
expect_exit "$server_pid" 0
expect_line "$work_dir/server.err" "#1 .*: finished, 13 bytes echoed"

make_ca ca
issue server ca
start_openssl_server reverser -rev -tls1_2 \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
echo 'hello membio' >"$work_dir/to_reverser.in"
run to_reverser "$ASIO_CLIENT" --ca "$work_dir/ca.pem" 127.0.0.1 "$port" ||
  fail "asio_client failed against s_server"
[[ $(cat "$work_dir/to_reverser.out") == 'oibmem olleh' ]] ||
  fail "wrong reply"
expect_line "$work_dir/to_reverser.err" "TLSv1.2"
