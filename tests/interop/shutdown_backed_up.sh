#!/usr/bin/env bash
# SIGTERM stops echo_server while a client's echo is backed up: tcp_client
# sends megabytes through a proxy that holds the replies, as in
# backpressure.sh. With MODE `taken`, the client reads again within the
# server's 2 seconds of grace: it gets the echo up to the server's
# close_notify and exits cleanly, and the server reports the connection
# closed at shutdown. With MODE `not_taken`, it reads nothing: the server
# gives up after the grace period and reports the connection cut at
# shutdown, and tcp_client, reading at last, finds the stream cut: ended
# without close_notify, or reset, since the proxy went on sending to the
# closed socket.
source "$(dirname "$0")/common.sh" || exit 1
mode=$1
require_programs TCP_CLIENT ECHO_SERVER FRAGMENTING_PROXY

start_backed_up_client

kill -TERM "$server_pid"
stopped_at=$SECONDS
case $mode in
taken)
  sleep 0.5
  close_input
  expect_exit "$server_pid" 0
  expect_exit "$client_pid" 0
  echoed=$(wc -c <"$work_dir/client.out")
  ((echoed > 0)) || fail "no echo came back"
  cmp -s -n "$echoed" "$work_dir/client.in" "$work_dir/client.out" ||
    fail "the echo is not what was sent"
  expect_line "$work_dir/server.err" '#1 .*: closed at shutdown$'
  expect_line "$work_dir/server.err" "closed at shutdown 1, cut at shutdown 0"
  ;;
not_taken)
  expect_exit "$server_pid" 0
  ((SECONDS - stopped_at <= 5)) || fail "the shutdown took too long"
  expect_line "$work_dir/server.err" \
    '#1 .*: cut at shutdown, [0-9]+ bytes not taken$'
  expect_line "$work_dir/server.err" "closed at shutdown 0, cut at shutdown 1"
  close_input
  expect_exit "$client_pid" 1
  expect_line "$work_dir/client.err" "truncated|reset by peer"
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
