#!/usr/bin/env bash
# Plots bulk throughput against write size, for membio and both baselines,
# one panel per cipher, from the CSV file membio_bench --csv wrote.
#
#   tests/bench/plot.sh bench.csv [out.png]
#
# The default output is docs/bench-throughput.png, which README shows.
#
# Needs gnuplot (Debian and Ubuntu: apt-get install gnuplot-nox).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  sed -n '2,9s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi

csv=$1
png=${2:-$(dirname "$0")/../../docs/bench-throughput.png}

if ! command -v gnuplot >/dev/null; then
  echo "plot.sh: gnuplot is missing; apt-get install gnuplot-nox" >&2
  exit 1
fi

mkdir -p "$(dirname "$png")"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

# Splits the CSV (whose quoted fields may hold commas) and writes one file
# per cipher and implementation: write size, median, min, max.
awk -v dir="$data" "$(cat "$(dirname "$0")/csv.awk")"'
  NR == 1 { next }
  {
    split_csv($0, f)
    if (f[1] != "bulk" || f[7] == "") next
    name = f[4] "." f[6]
    gsub(/[^A-Za-z0-9.-]/, "_", name)
    print f[5], f[7], f[8], f[9] >> (dir "/" name ".dat")
  }
' "$csv"

if ! ls "$data"/*.dat >/dev/null 2>&1; then
  echo "plot.sh: no bulk figures in $csv" >&2
  exit 1
fi

# One line per implementation that has figures for the cipher.
series() {
  local cipher=$1 plot="" implementation title file
  for implementation in membio membio-zero-copy openssl gnutls; do
    case $implementation in
      membio) title="membio (copying)" ;;
      membio-zero-copy) title="membio (zero-copy)" ;;
      openssl) title="raw OpenSSL" ;;
      gnutls) title="GnuTLS" ;;
    esac
    file="$data/${cipher}.${implementation}.dat"
    [[ -f $file ]] || continue
    plot+="${plot:+, }'$file' using 1:2:3:4 with yerrorlines title '$title'"
  done
  echo "$plot"
}

{
  cat <<EOF
set terminal pngcairo noenhanced size 1050,380 font ",9"
set output '$png'
set multiplot layout 1,3 \
  title "Bulk throughput, one way: median, min and max (membio_bench)"
set logscale xy
set xtics ("64 B" 64, "1 KiB" 1024, "16 KiB" 16384)
set xrange [40:26000]
set xlabel "write size"
set ylabel "MB/s of plaintext"
set grid
set key top left
EOF
  for cipher in AES-128-GCM AES-256-GCM ChaCha20-Poly1305; do
    plot=$(series "$cipher")
    [[ -n $plot ]] || continue
    echo "set title '$cipher'"
    echo "plot $plot"
  done
  echo "unset multiplot"
} | gnuplot

echo "plot.sh: wrote $png"
