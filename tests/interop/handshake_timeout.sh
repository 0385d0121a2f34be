#!/usr/bin/env bash
# echo_server --handshake-timeout fails a connection whose handshake is not
# done in time: a client that connects and stays silent is reported and
# dropped once the timeout has passed, not before, while a client that
# finished its handshake may stay idle past it and still gets its echo.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
require_programs ECHO_SERVER

start_echo_server server --write-cert "$work_dir/server.pem" \
  --handshake-timeout 1 --max-connections 2
server_pid=$last_pid

open_input idle
start idle openssl s_client -connect "127.0.0.1:$port" -brief \
  -CAfile "$work_dir/server.pem" -verify_return_error
idle_pid=$last_pid
wait_for_line "$work_dir/idle.err" '^CONNECTION ESTABLISHED$'

# bash connects by itself, and sends nothing.
connected_at=$(date +%s%N)
exec 4<>"/dev/tcp/127.0.0.1/$port"
wait_for_line "$work_dir/server.err" \
  '#2 .*: failed: handshake not done within 1 seconds$'
waited_ms=$((($(date +%s%N) - connected_at) / 1000000))
((waited_ms >= 900)) || fail "dropped after $waited_ms ms, before the timeout"
timeout 5 cat <&4 >"$work_dir/silent.out" ||
  fail "the silent connection was not closed"
exec 4<&-

echo 'hello membio' >&3
wait_for_line "$work_dir/idle.out" '^hello membio$'
close_input
expect_exit "$idle_pid" 0
expect_exit "$server_pid" 0
expect_line "$work_dir/server.err" "#1 .*: finished, 13 bytes echoed"
expect_line "$work_dir/server.err" "accepted 2, finished 1, failed 1"
