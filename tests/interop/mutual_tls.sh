#!/usr/bin/env bash
# Client certificates both ways. echo_server --ca takes `openssl s_client`
# with a certificate from that authority and names its subject, and refuses
# s_client without one or with one from another authority, each side naming
# the reason; tcp_client --cert/--key passes `openssl s_server -Verify`, and
# fails it without a certificate.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
require_programs TCP_CLIENT ECHO_SERVER

make_ca ca
make_ca stranger
issue server ca
issue client ca
issue intruder stranger

# echo_server verifies s_client's certificate.
start_echo_server server --cert "$work_dir/server.pem" \
  --key "$work_dir/server.key" --ca "$work_dir/ca.pem" --max-connections 3
server_pid=$last_pid

open_input with_cert
start with_cert openssl s_client -connect "127.0.0.1:$port" -brief \
  -CAfile "$work_dir/ca.pem" -verify_return_error \
  -cert "$work_dir/client.pem" -key "$work_dir/client.key"
client_pid=$last_pid
echo 'hello membio' >&3
wait_for_line "$work_dir/with_cert.out" '^hello membio$'
close_input
expect_exit "$client_pid" 0

run without_cert openssl s_client -connect "127.0.0.1:$port" -brief \
  -CAfile "$work_dir/ca.pem" -verify_return_error || true

# With TLS 1.3 the server judges the client's certificate after the client
# has finished its handshake, so s_client's input stays open until the
# server's alert ends it.
open_input intruder
start intruder openssl s_client -connect "127.0.0.1:$port" -brief \
  -CAfile "$work_dir/ca.pem" -verify_return_error \
  -cert "$work_dir/intruder.pem" -key "$work_dir/intruder.key"
expect_exit "$last_pid" 1
close_input
expect_line "$work_dir/intruder.err" "alert unknown ca"

expect_exit "$server_pid" 0
expect_line "$work_dir/server.err" "#1 .*: established, .*, client CN=client"
expect_line "$work_dir/server.err" "#1 .*: finished, 13 bytes echoed"
expect_line "$work_dir/server.err" "#2 .*: failed: .*certificate"
expect_line "$work_dir/server.err" \
  "#3 .*: failed: handshake: certificate verify failed"
expect_line "$work_dir/server.err" \
  "#3 .*: unable to get local issuer certificate; alert sent: unknown CA"
expect_line "$work_dir/server.err" "accepted 3, finished 1, failed 2"

# s_server verifies tcp_client's certificate.
start_openssl_server verifier -rev -Verify 1 -CAfile "$work_dir/ca.pem" \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
verifier_pid=$last_pid
echo 'hello membio' >"$work_dir/client.in"
run client "$TCP_CLIENT" --ca "$work_dir/ca.pem" \
  --cert "$work_dir/client.pem" --key "$work_dir/client.key" \
  localhost "$port" || fail "tcp_client with a certificate failed"
[[ $(cat "$work_dir/client.out") == 'oibmem olleh' ]] || fail "wrong reply"
expect_exit "$verifier_pid" 0
expect_line "$work_dir/verifier.err" "Peer certificate: CN = client"

# Without a certificate, s_server's alert ends tcp_client with an error.
start_openssl_server refuser -rev -Verify 1 -CAfile "$work_dir/ca.pem" \
  -cert "$work_dir/server.pem" -key "$work_dir/server.key"
echo 'hello membio' >"$work_dir/anonymous.in"
if run anonymous "$TCP_CLIENT" --ca "$work_dir/ca.pem" localhost "$port"; then
  fail "tcp_client without a certificate succeeded"
fi
expect_line "$work_dir/anonymous.err" "alert certificate required"
