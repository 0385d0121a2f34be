#!/usr/bin/env bash
# tcp_client against `openssl s_server -rev`, which sends each line back
# reversed, with TLS VERSION (1.2 or 1.3) pinned on both sides: the lines
# come back reversed, and the exchange ends with close_notify both ways
# (tcp_client fails otherwise).
source "$(dirname "$0")/common.sh" || exit 1
version=$1
require openssl
require_programs TCP_CLIENT

make_ca ca
issue server ca
start_openssl_server server -rev "-tls${version/./_}" \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"

printf 'hello membio\nsecond line\n' >"$work_dir/client.in"
printf 'oibmem olleh\nenil dnoces\n' >"$work_dir/wanted"
run client "$TCP_CLIENT" --ca "$work_dir/ca.pem" --name localhost \
  "--tls$version" 127.0.0.1 "$port" || fail "tcp_client failed"

expect_same "$work_dir/wanted" "$work_dir/client.out"
expect_line "$work_dir/client.err" "protocol: TLSv$version,"
expect_line "$work_dir/client.err" "server: CN=server"
