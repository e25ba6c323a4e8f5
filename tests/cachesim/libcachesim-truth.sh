#!/usr/bin/env bash
# libcachesim-truth.sh — regenerate cachesim's ground truth from libCacheSim.
#
#   LIBCACHESIM=/tmp/libcachesim-src/_build/bin/cachesim tests/cachesim/libcachesim-truth.sh
#
# Builds tests/bench/genzipf.c, writes the small oracleGeneral fixtures into
# tests/fixtures/cachesim/, and runs libCacheSim (built in /tmp from
# github.com/1a1a11a/libCacheSim, GPL — never copied into memkit) on each of
# them for every policy at several sizes, in byte mode and with
# --ignore-obj-size (object counts). libCacheSim's cachesim prints only
# 4-decimal ratios, so the exact counts come from a ten-line driver of ours
# (below) linked against the objects of that same cachesim build: it calls
# its parse_cmd (same trace reader, same working-set and cache-size parsing,
# same cache constructors) and simulate_with_multi_caches, then prints the
# cache_stat_t counters. Every row is cross-checked against the ratios the
# real cachesim binary prints for the same command line.
#
# Output: tests/fixtures/cachesim/expected-<trace>.tsv with columns
#   trace policy capacity count_mode requests misses miss_ratio
#   byte_miss_ratio size_arg request_bytes miss_bytes libcachesim_name
# capacity is in bytes (count_mode=bytes) or objects (count_mode=objects);
# size_arg is what was passed to libCacheSim (0.01 = 1 % of the working set);
# policy is cachesim's name for it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${LIBCACHESIM:?set LIBCACHESIM to libCacheSim\'s build/bin/cachesim}
[ -x "$bin" ] || { echo "libcachesim-truth: $bin is not executable" >&2; exit 2; }
build=$(cd "$(dirname "$bin")/.." && pwd)
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
[ -d "$src/libCacheSim/bin/cachesim" ] || { echo "libcachesim-truth: no libCacheSim source at '$src'" >&2; exit 2; }
fx=$root/tests/fixtures/cachesim
work=$(mktemp -d /tmp/libcachesim-truth.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- the generator and the fixtures -----------------------------------------
cc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$work/genzipf" "$root/tests/bench/genzipf.c" -lm
mkdir -p "$fx"
# name                          genzipf options
fixtures=(
  "zipf1.0-var   -n 20000 -m 2000 -a 1.0 -s 1 -z 1:1000"
  "zipf0.8-unit  -n 20000 -m 2000 -a 0.8 -s 2"
  "zipf1.0-size0 -n 5000  -m 500  -a 1.0 -s 3 -z 1:100 -x 0.02"
  "zipf0.9-big   -n 5000  -m 500  -a 0.9 -s 4 -z 1:65536"
)
# byte-mode sizes per fixture (absolute bytes, then fractions of the working set)
declare -A bytesizes=(
  [zipf1.0-var]="1000,16384,65536,262144,0.01,0.1"
  [zipf0.8-unit]="20,100,500,0.01,0.1"
  [zipf1.0-size0]="500,2048,8192,0.01,0.1"
  [zipf0.9-big]="32768,262144,1048576,0.01,0.1"
)
objsizes="20,100,500,0.01,0.1"

for f in "${fixtures[@]}"; do
  read -r name opts <<<"$f"
  # shellcheck disable=SC2086
  "$work/genzipf" $opts -o "$fx/$name.oracleGeneral.bin"
done

# --- the exact-count driver (ours), linked against cachesim's objects ------
cat >"$work/lcs-exact.c" <<'EOF'
#include "internal.h"
#include "libCacheSim/simulator.h"
int main(int argc, char **argv) {
  struct arguments args;
  parse_cmd(argc, argv, &args);
  int n = args.n_cache_size * args.n_eviction_algo;
  cache_stat_t *r = simulate_with_multi_caches(args.reader, args.caches, n, NULL, 0, args.warmup_sec, 2, true);
  for (int i = 0; i < n; i++)
    printf("LCSEXACT\t%s\t%lld\t%lld\t%lld\t%lld\t%lld\n", r[i].cache_name, (long long)r[i].cache_size,
           (long long)r[i].n_req, (long long)r[i].n_miss, (long long)r[i].n_req_byte, (long long)r[i].n_miss_byte);
  return 0;
}
EOF
flags=$build/libCacheSim/bin/cachesim/CMakeFiles/cachesim.dir/flags.make
defs=$(sed -n 's/^C_DEFINES = //p' "$flags")
incs=$(sed -n 's/^C_INCLUDES = //p' "$flags")
objdir=$build/libCacheSim/bin/cachesim/CMakeFiles/cachesim.dir
# shellcheck disable=SC2086
cc -O2 $defs $incs -I"$src/libCacheSim/bin/cachesim" -I"$src/libCacheSim/include" -c "$work/lcs-exact.c" -o "$work/lcs-exact.o"
libs=$(sed -e 's/^.*-o \.\.\/\.\.\/\.\.\/bin\/cachesim//' "$objdir/link.txt")
# link.txt paths are relative to libCacheSim/bin/cachesim in the build tree
(cd "$build/libCacheSim/bin/cachesim" &&
 # shellcheck disable=SC2086
 c++ -O2 "$work/lcs-exact.o" CMakeFiles/cachesim.dir/cli_parser.c.o CMakeFiles/cachesim.dir/sim.c.o \
     CMakeFiles/cachesim.dir/__/cli_reader_utils.c.o -o "$work/lcs-exact" $libs -lpthread -lm)

# --- run -----------------------------------------------------------------------
algos=LRU,FIFO,LFU,Clock,Sieve,S3FIFO,ARC,TwoQ,WTinyLFU,Belady
cachesim_name() {
  case $1 in
    LRU) echo lru ;; FIFO) echo fifo ;; LFU) echo lfu ;; Clock) echo clock ;;
    Sieve) echo sieve ;; S3FIFO*) echo s3fifo ;; ARC) echo arc ;; TwoQ) echo 2q ;;
    WTinyLFU*) echo tinylfu ;; Belady) echo belady ;; *) echo "?$1" ;;
  esac
}
cd "$work"
mkdir -p data
for f in "${fixtures[@]}"; do
  read -r name _ <<<"$f"
  # libCacheSim gives every cache (and sub-cache) a 2^24-bucket hash table,
  # zeroed up front (~128 MB each, minutes for these 50-cache runs) unless
  # the trace path contains "data/trace." (then 2^16; the table grows as
  # needed, results are the same). The path must also contain
  # "oracleGeneral" or libCacheSim refuses Belady.
  ln -sf "$fx/$name.oracleGeneral.bin" "data/trace.$name.oracleGeneral.bin"
  trace=data/trace.$name.oracleGeneral.bin
  out=$fx/expected-$name.tsv
  printf 'trace\tpolicy\tcapacity\tcount_mode\trequests\tmisses\tmiss_ratio\tbyte_miss_ratio\tsize_arg\trequest_bytes\tmiss_bytes\tlibcachesim_name\n' >"$out.tmp"
  for mode in bytes objects; do
    if [ $mode = bytes ]; then sizes=${bytesizes[$name]}; extra=(); else sizes=$objsizes; extra=(--ignore-obj-size true); fi
    IFS=, read -r -a sizearr <<<"$sizes"
    nsz=${#sizearr[@]}
    "$work/lcs-exact" "$trace" oracleGeneral "$algos" "$sizes" "${extra[@]}" 2>"$work/err" | grep '^LCSEXACT' >"$work/exact" ||
      { cat "$work/err" >&2; exit 1; }
    "$bin" "$trace" oracleGeneral "$algos" "$sizes" "${extra[@]}" 2>"$work/err2" | grep '^result/' >"$work/cli" ||
      { cat "$work/err2" >&2; exit 1; }
    [ "$(wc -l <"$work/exact")" = "$(wc -l <"$work/cli")" ] || { echo "libcachesim-truth: row count differs" >&2; exit 1; }
    i=0
    paste "$work/exact" "$work/cli" | while IFS=$'\t' read -r _ lname cap req miss reqb missb cliline; do
      sizearg=${sizearr[$((i % nsz))]}
      i=$((i + 1))
      mr=$(awk -v m="$miss" -v r="$req" 'BEGIN { printf "%.8f", r ? m / r : 0 }')
      bmr=$(awk -v m="$missb" -v r="$reqb" 'BEGIN { printf "%.8f", r ? m / r : 0 }')
      # cross-check with the real binary's "N req, miss ratio R, byte miss ratio B"
      clireq=$(sed -E 's/.* ([0-9]+) req, .*/\1/' <<<"$cliline")
      climr=$(sed -E 's/.*miss ratio ([0-9.]+), byte.*/\1/' <<<"$cliline")
      clibmr=$(sed -E 's/.*byte miss ratio ([0-9.]+).*/\1/' <<<"$cliline")
      ok=$(awk -v a="$mr" -v b="$climr" -v c="$bmr" -v d="$clibmr" -v r1="$req" -v r2="$clireq" \
        'BEGIN { print (r1 == r2 && (a - b < 0.00005 && b - a < 0.00005) && (c - d < 0.00005 && d - c < 0.00005)) ? 1 : 0 }')
      if [ "$ok" != 1 ]; then
        echo "libcachesim-truth: $name $lname $cap: driver $req/$mr/$bmr vs cachesim '$cliline'" >&2
        exit 1
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(cachesim_name "$lname")" "$cap" "$mode" \
        "$req" "$miss" "$mr" "$bmr" "$sizearg" "$reqb" "$missb" "$lname" >>"$out.tmp"
    done
  done
  mv "$out.tmp" "$out"
  echo "libcachesim-truth: $out ($(($(wc -l <"$out") - 1)) rows)"
done
