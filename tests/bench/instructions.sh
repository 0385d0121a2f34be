#!/usr/bin/env bash
# Instructions per unit of work for membio and both baselines, counted by
# valgrind's callgrind in membio_count, with membio's ratio to each.
#
#   tests/bench/instructions.sh [path/to/membio_count]
#
# A count repeats exactly from run to run, where time on a shared machine
# strays by 10 %, so it shows what each implementation itself adds. It is
# not time: instructions differ in cost (a cache miss, an AES round), so a
# workload whose cost is mostly the cipher can take fewer instructions and
# no less time. Each unit is counted twice, with few and with more units,
# and the difference is divided, so that what happens once per run (the
# first allocation of a buffer, lazy initialisation) does not count.
set -euo pipefail

count=${1:-build-bench/tests/bench/membio_count}
if [[ ! -x $count ]]; then
  echo "instructions.sh: no membio_count at $count; build the benchmark" >&2
  exit 2
fi
command -v valgrind >/dev/null || {
  echo "instructions.sh: needs valgrind" >&2
  exit 2
}

# Prints the instructions callgrind counted inside membio_count's `counted`.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='membio::bench::*counted*' "$count" "$@" 2>&1 |
    sed -n 's/.*Collected : //p'
}

# Prints the instructions of one unit: the cost of 3 units more than 1.
per_unit() {
  local workload=$1 implementation=$2 few more
  few=$(instructions "$workload" "$implementation" 1)
  more=$(instructions "$workload" "$implementation" 4)
  echo $(((more - few) / 3))
}

ratio() {
  awk -v them="$1" -v us="$2" 'BEGIN {
    if (us > 0 && them > 0) printf "%.2fx", them / us; else print "-"
  }'
}

# The column "raw, releasing" is raw OpenSSL with SSL_MODE_RELEASE_BUFFERS,
# as membio sets it: it tells membio's own cost from that mode's.
echo "| workload | unit | membio | membio zero-copy | raw OpenSSL |" \
  "raw, releasing | GnuTLS | raw / membio | GnuTLS / membio |"
echo "|---|---|---|---|---|---|---|---|---|"

while read -r workload unit description; do
  membio=$(per_unit "$workload" membio)
  zero_copy=-
  if [[ $workload != full && $workload != resumed ]]; then
    zero_copy=$(per_unit "$workload" membio-zero-copy)
  fi
  openssl=$(per_unit "$workload" openssl)
  releasing=$(per_unit "$workload" openssl-release-buffers)
  gnutls=$(per_unit "$workload" gnutls)

  # Where the zero-copy path exists, the ratios are of its count.
  best=$membio
  [[ $zero_copy != - ]] && best=$zero_copy
  echo "| $description | $unit | $membio | $zero_copy | $openssl |" \
    "$releasing | $gnutls | $(ratio "$openssl" "$best") |" \
    "$(ratio "$gnutls" "$best") |"
done <<'EOF'
full handshake full handshake, TLS 1.3 X25519, ECDSA P-256
resumed handshake resumed handshake, TLS 1.3 ticket
bulk turn bulk, AES-128-GCM, one 16 KiB write per turn
tiny turn bulk, AES-128-GCM, one 64 B write per turn
small turn small messages, 256 x 64 B writes per turn, AES-128-GCM
EOF
