#!/usr/bin/env bash
# tcp_client without --ca trusts the system's roots, which OpenSSL looks
# for where SSL_CERT_FILE says: pointed at the test authority, tcp_client
# verifies `openssl s_server`; without it, the system's own roots lack that
# authority and tcp_client fails with the verify error, printing nothing.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
require_programs TCP_CLIENT

make_ca ca
issue server ca

start_openssl_server trusting_server -rev \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
echo 'hello membio' >"$work_dir/trusted.in"
run trusted env SSL_CERT_FILE="$work_dir/ca.pem" "$TCP_CLIENT" localhost \
  "$port" || fail "tcp_client did not trust SSL_CERT_FILE"
[[ $(cat "$work_dir/trusted.out") == 'oibmem olleh' ]] || fail "wrong reply"
expect_line "$work_dir/trusted.err" "server: CN=server"

start_openssl_server distrusting_server -rev \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
echo 'secret' >"$work_dir/untrusted.in"
if run untrusted env -u SSL_CERT_FILE -u SSL_CERT_DIR "$TCP_CLIENT" \
  localhost "$port"; then
  fail "tcp_client trusted an authority the system does not hold"
fi
expect_line "$work_dir/untrusted.err" \
  "handshake: certificate verify failed.*unable to get local issuer"
[[ ! -s $work_dir/untrusted.out ]] || fail "tcp_client printed data"
