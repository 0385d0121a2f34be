#!/usr/bin/env bash
# tcp_client reports truncation: `openssl s_server` is killed after the
# handshake, so its TCP connection ends without close_notify, and
# tcp_client must fail with membio's truncation error rather than exit as
# if the server had closed cleanly.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
require_programs TCP_CLIENT

make_ca ca
issue server ca
start_openssl_server server -rev \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
server_pid=$last_pid

open_input client
start client "$TCP_CLIENT" --ca "$work_dir/ca.pem" localhost "$port"
client_pid=$last_pid
echo 'hello membio' >&3
wait_for_line "$work_dir/client.out" '^oibmem olleh$'

kill "$server_pid"
expect_exit "$client_pid" 1
expect_line "$work_dir/client.err" \
  "connection truncated: transport ended without close_notify"
