#!/usr/bin/env bash
# tcp_client and echo_server through a proxy that hands bytes on a few at a
# time, so that both see every TLS record split across many reads: the
# handshake completes, the lines come back whole, and both close cleanly.
source "$(dirname "$0")/common.sh" || exit 1
require_programs TCP_CLIENT ECHO_SERVER FRAGMENTING_PROXY

start_echo_server server --write-cert "$work_dir/server.pem" \
  --max-connections 1
server_pid=$last_pid

start proxy "$FRAGMENTING_PROXY" "$port"
wait_for_start "$work_dir/proxy.out" '^listening on ' || fail "no proxy"
proxy_port=$(sed -n 's/^listening on //p' "$work_dir/proxy.out")

printf 'hello membio\n%0300d\nlast line\n' 0 >"$work_dir/client.in"
run client "$TCP_CLIENT" --ca "$work_dir/server.pem" --timeout 20 \
  127.0.0.1 "$proxy_port" || fail "tcp_client failed"
expect_same "$work_dir/client.in" "$work_dir/client.out"

expect_exit "$server_pid" 0
expect_line "$work_dir/server.err" "accepted 1, finished 1, failed 0"
