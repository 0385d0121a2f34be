#!/usr/bin/env bash
# tcp_client against `gnutls-serv --echo` with TLS VERSION (1.2 or 1.3)
# pinned on the client: every line comes back, and the exchange ends with
# close_notify both ways (tcp_client fails otherwise).
source "$(dirname "$0")/common.sh" || exit 1
version=$1
require openssl gnutls-serv
require_programs TCP_CLIENT

make_ca ca
issue server ca
start_gnutls_server server --x509certfile "$work_dir/server.pem" \
  --x509keyfile "$work_dir/server.key"

printf 'hello membio\nsecond line\n' >"$work_dir/client.in"
run client "$TCP_CLIENT" --ca "$work_dir/ca.pem" --name localhost \
  "--tls$version" 127.0.0.1 "$port" || fail "tcp_client failed"

expect_same "$work_dir/client.in" "$work_dir/client.out"
expect_line "$work_dir/client.err" "protocol: TLSv$version,"
wait_for_line "$work_dir/server.out" "Version: TLS$version"
