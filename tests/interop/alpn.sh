#!/usr/bin/env bash
# ALPN both ways: tcp_client --alpn against `openssl s_server -alpn` reports
# the protocol the server chose; `openssl s_client -alpn` against
# echo_server --alpn gets the one it offered, and a client offering none
# that echo_server speaks is refused.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
require_programs TCP_CLIENT ECHO_SERVER

make_ca ca
issue server ca

# tcp_client offers two; s_server takes the one it knows.
start_openssl_server chooser -rev -alpn http/1.1 \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
chooser_pid=$last_pid
echo 'hello membio' >"$work_dir/client.in"
run client "$TCP_CLIENT" --ca "$work_dir/ca.pem" --alpn h2,http/1.1 \
  localhost "$port" || fail "tcp_client failed"
expect_line "$work_dir/client.err" "alpn: http/1.1$"
expect_exit "$chooser_pid" 0
expect_line "$work_dir/chooser.out" "ALPN protocols selected: http/1.1"

# echo_server chooses for s_client, or refuses it.
start_echo_server server --cert "$work_dir/server.pem" \
  --key "$work_dir/server.key" --alpn http/1.1,h2 --max-connections 2
server_pid=$last_pid

run offers_h2 openssl s_client -connect "127.0.0.1:$port" -alpn h2 \
  -CAfile "$work_dir/ca.pem" -verify_return_error ||
  fail "s_client -alpn h2 failed"
expect_line "$work_dir/offers_h2.out" "^ALPN protocol: h2$"

if run offers_other openssl s_client -connect "127.0.0.1:$port" \
  -alpn spdy/1 -CAfile "$work_dir/ca.pem"; then
  fail "s_client -alpn spdy/1 was accepted"
fi
expect_exit "$server_pid" 0
expect_line "$work_dir/server.err" "#1 .*: established, .*, alpn h2"
expect_line "$work_dir/server.err" "#2 .*: failed: .*no application protocol"
