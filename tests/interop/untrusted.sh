#!/usr/bin/env bash
# tcp_client refuses servers it cannot verify: `openssl s_server` with a
# certificate from an authority tcp_client does not trust, and one with a
# trusted certificate for another name. Each time it fails with membio's
# message and prints nothing.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
require_programs TCP_CLIENT

make_ca trusted
make_ca stranger
issue server stranger
issue localhost_only trusted

echo 'secret' >"$work_dir/unknown.in"
start_openssl_server unknown_server -rev \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
if run unknown "$TCP_CLIENT" --ca "$work_dir/trusted.pem" localhost \
  "$port"; then
  fail "tcp_client accepted an untrusted certificate"
fi
expect_line "$work_dir/unknown.err" \
  "handshake: certificate verify failed.*unable to get local issuer"
[[ ! -s $work_dir/unknown.out ]] || fail "tcp_client printed data"

echo 'secret' >"$work_dir/wrong_name.in"
start_openssl_server named_server -rev \
  -cert "$work_dir/localhost_only.pem" -key "$work_dir/localhost_only.key"
if run wrong_name "$TCP_CLIENT" --ca "$work_dir/trusted.pem" \
  --name other.example 127.0.0.1 "$port"; then
  fail "tcp_client accepted a certificate for another name"
fi
expect_line "$work_dir/wrong_name.err" \
  "handshake: certificate verify failed.*hostname mismatch"
