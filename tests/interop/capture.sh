#!/usr/bin/env bash
# tcp_client --capture against `openssl s_server -rev` with TLS VERSION (1.2
# or 1.3): the file it writes holds the connection's secrets, so tshark,
# given nothing else, decrypts both directions: the lines sent and the
# lines that came back reversed.
source "$(dirname "$0")/common.sh" || exit 1
version=$1
require openssl tshark
require_programs TCP_CLIENT

make_ca ca
issue server ca
start_openssl_server server -rev "-tls${version/./_}" \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"

capture=$work_dir/client.pcapng
printf 'hello membio\nsecond line\n' >"$work_dir/client.in"
run client "$TCP_CLIENT" --ca "$work_dir/ca.pem" --capture "$capture" \
  localhost "$port" || fail "tcp_client failed"
[[ $(cat "$work_dir/client.out") == $'oibmem olleh\nenil dnoces' ]] ||
  fail "wrong reply"

run_tshark hello -r "$capture" -Y "tls.handshake.type == 2" ||
  fail "tshark cannot read the capture"
expect_line "$work_dir/hello.out" "TLSv$version.*Server Hello"

run_tshark follow -r "$capture" -q -z follow,tls,ascii,0 ||
  fail "tshark cannot follow the capture"
expect_line "$work_dir/follow.out" '^hello membio$'
expect_line "$work_dir/follow.out" '^second line$'
expect_line "$work_dir/follow.out" '^oibmem olleh$'
expect_line "$work_dir/follow.out" '^enil dnoces$'
