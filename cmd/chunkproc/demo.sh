#!/usr/bin/env bash
# demo.sh BUILD_DIR DEMO_DIR — chunkproc's part of `make demo` (called by
# tests/demo.sh): group-by on the zstd sample, quantiles, a filter pipeline
# JSON output, top values and a group-by that spills to disk. DEMO_DIR holds weblog.csv and weblog.csv.zst
# (tests/bench/gencsv.c).
set -euo pipefail
B=$(cd "$1" && pwd) D=$2
PATH=$B/bin:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
cd "$D"

step "chunkproc -g region -a count,sum:bytes,mean:bytes,approx-distinct:user_id weblog.csv.zst"
chunkproc -g region -a count,sum:bytes,mean:bytes,approx-distinct:user_id weblog.csv.zst

step "chunkproc -g method -a p50:latency_ms,p99:latency_ms,max:latency_ms weblog.csv.zst"
chunkproc -g method -a p50:latency_ms,p99:latency_ms,max:latency_ms weblog.csv.zst

step "chunkproc --where 'status = 500' --select ts,region,path weblog.csv.zst | head -4"
chunkproc --where 'status = 500' --select ts,region,path weblog.csv.zst | head -4

step "chunkproc --where 'status >= 500' -g status -f json weblog.csv"
chunkproc --where 'status >= 500' -g status -f json weblog.csv


step "chunkproc -g region -a top:method:3 weblog.csv"
chunkproc -g region -a top:method:3 weblog.csv

step "chunkproc --memory 2M --stats -g user_id -a count,sum:bytes --sort count --top 5 weblog.csv.zst"
chunkproc --memory 2M --stats -g user_id -a count,sum:bytes --sort count --top 5 weblog.csv.zst
