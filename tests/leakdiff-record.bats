#!/usr/bin/env bats
# leakdiff record, the preload half: libmemkit-record.so run under rec-dump
# (tests/leakdiff-record/rdump.c, a small reference reader of the pipe
# protocol in cmd/leakdiff/recproto.h) on the programs of
# tests/leakdiff-record/, each of which states its exact figures in its
# header comment. rec-dump prints, per process image,
#   summary pid=P image=I live_bytes= live_blocks= peak_bytes= allocs= frees=
#           reallocs= snapshots= inherited= bad= gaps= end=
# where bad counts records that contradict the heap in sequence order.

bats_require_minimum_version 1.5.0
load helpers

# rec ARGS... -- CMD...: record into ./report; the figures without the pid.
rec() {
    rec-dump -q -o report "$@"
}
figures() {
    sed -E -n 's/^summary pid=[0-9]+ /summary /p' report
}

@test "basic: mallocs, a calloc, one leak: exact live, peak and counts" {
    run rec -- rec-basic
    assert_success
    run figures
    assert_output "summary image=1 live_bytes=1000 live_blocks=1 peak_bytes=1600 allocs=5 frees=4 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
}

@test "the stream: HELLO is 1, numbers are dense, EXIT is last, the program's module is named" {
    run rec-dump -o report -- rec-basic
    assert_success
    run awk '$2 ~ /^[0-9]+$/ {print $2, $3}' report
    assert_line --index 0 "1 hello"
    n=${#lines[@]}
    assert_line --index $((n - 1)) "$n exit"
    run awk '$2 ~ /^[0-9]+$/ && $2 != NR {print "out of order:", $0}' report
    assert_output ""
    run grep -c ' module .*/rec-basic$' report
    assert_output 1
}

@test "realloc: realloc(p, 0) is a free, realloc(NULL, n) an allocation, a failed realloc nothing" {
    run rec -- rec-realloc
    assert_success
    run figures
    assert_output "summary image=1 live_bytes=400 live_blocks=1 peak_bytes=430 allocs=3 frees=2 reallocs=2 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
}

@test "aligned allocations and pvalloc record the requested size; reallocarray is recorded once" {
    run rec -- rec-aligned
    assert_success
    run figures
    assert_output "summary image=1 live_bytes=556 live_blocks=4 peak_bytes=756 allocs=6 frees=2 reallocs=1 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
    rec-dump -o report -- rec-aligned
    run awk '$3 == "alloc" {print $5}' report
    assert_output "$(printf '%s\n' 100 256 50 10 100 120)"
}

@test "two threads freeing each other's blocks: every free matches a live block, exact live and peak" {
    for i in 1 2 3; do
        run rec -- rec-threads
        assert_success
        run figures
        assert_output "summary image=1 live_bytes=333 live_blocks=2 peak_bytes=1048576 allocs=40005 frees=40003 reallocs=20000 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
    done
}

@test "two threads on one arena without tcache: a realloc's old address is never reused ahead of it" {
    # One arena and no tcache: a block a realloc frees goes straight back to
    # the shared bins, where the other thread's next malloc finds it. Without
    # the recorder's reallocs-in-flight table this gives hundreds of
    # contradictions per run (measured: 430 to 740).
    for i in 1 2 3; do
        GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0 run rec -- rec-threads
        assert_success
        run figures
        assert_output "summary image=1 live_bytes=333 live_blocks=2 peak_bytes=1048576 allocs=40005 frees=40003 reallocs=20000 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
    done
}

@test "fork: the child is not recorded without MEMKIT_RECORD_FOLLOW_FORK=1; exec starts a new image" {
    run rec -- rec-forkexec
    assert_success
    run figures
    assert_output "$(printf '%s\n' \
        "summary image=1 live_bytes=1000 live_blocks=1 peak_bytes=1000 allocs=1 frees=0 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exec" \
        "summary image=2 live_bytes=555 live_blocks=1 peak_bytes=555 allocs=1 frees=0 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exit")"
    # one pid for both images
    [ "$(sed -n 's/^summary pid=\([0-9]*\) .*/\1/p' report | sort -u | wc -l)" -eq 1 ]
}

@test "fork with MEMKIT_RECORD_FOLLOW_FORK=1: the child has its own trace and inherits the parent's heap" {
    MEMKIT_RECORD_FOLLOW_FORK=1 run rec -- rec-forkexec
    assert_success
    run figures
    assert_output "$(printf '%s\n' \
        "summary image=1 live_bytes=1000 live_blocks=1 peak_bytes=1000 allocs=1 frees=0 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exec" \
        "summary image=1 live_bytes=1777 live_blocks=2 peak_bytes=1827 allocs=2 frees=1 reallocs=0 snapshots=0 inherited=1 bad=0 gaps=0 end=exit" \
        "summary image=2 live_bytes=555 live_blocks=1 peak_bytes=555 allocs=1 frees=0 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exit")"
    # the parent names the child's pid in MKR_FORK
    MEMKIT_RECORD_FOLLOW_FORK=1 rec-dump -o report -- rec-forkexec
    child=$(sed -n 's/^summary pid=\([0-9]*\) image=1 live_bytes=1777 .*/\1/p' report)
    run awk -v c="$child" '$3 == "fork" {print $4 + 0 == c + 0 ? "named" : "other"}' report
    assert_output named
}

@test "main ends with pthread_exit: the process still ends with its last thread, status 0" {
    run timeout 20 rec-dump -q -o report -- rec-pthread_exit
    assert_success
    run figures
    assert_output "summary image=1 live_bytes=2153 live_blocks=6 peak_bytes=4533 allocs=10 frees=4 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
}

@test "a crash: the records before SIGSEGV arrive, the status is the signal's" {
    run rec -- rec-crash
    assert_equal "$status" 139
    run figures
    assert_output "summary image=1 live_bytes=4242 live_blocks=1 peak_bytes=4342 allocs=2 frees=1 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=crash:11"
}

@test "killed by SIGKILL: the flusher has already delivered records idle for 20 ms" {
    run rec -- rec-crash kill
    assert_equal "$status" 137
    run figures
    assert_output "summary image=1 live_bytes=4242 live_blocks=1 peak_bytes=4342 allocs=2 frees=1 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=none"
}

@test "snapshots: memkit_snapshot labels carry the heap at that point; SIGUSR2 gives a signal snapshot" {
    run rec -- rec-snapshot
    assert_success
    run sed -E -n 's/^snapshot pid=[0-9]+ /snapshot /p' report
    assert_output "$(printf '%s\n' \
        "snapshot image=1 label=phase1 live_bytes=300 live_blocks=3" \
        "snapshot image=1 label=phase2 live_bytes=1200 live_blocks=3" \
        "snapshot image=1 label=phase3 live_bytes=0 live_blocks=0" \
        "snapshot image=1 label=signal live_bytes=0 live_blocks=0")"
    run figures
    assert_output "summary image=1 live_bytes=64 live_blocks=1 peak_bytes=1300 allocs=5 frees=4 reallocs=0 snapshots=4 inherited=0 bad=0 gaps=0 end=exit"
}

@test "interval snapshots: MEMKIT_RECORD_INTERVAL_NS=20ms over a 200 ms sleep" {
    MEMKIT_RECORD_INTERVAL_NS=20000000 run rec -- rec-snapshot sleep
    assert_success
    n=$(grep -c '^snapshot .* label=interval live_bytes=0 live_blocks=0$' report)
    [ "$n" -ge 5 ] && [ "$n" -le 12 ]
}

@test "the snapshot program runs unchanged without the recorder (memkit_snapshot is weak)" {
    run rec-snapshot
    assert_success
    assert_output ""
}

@test "stdin, stdout and the exit status pass through untouched" {
    seq 1 20000 > in
    run rec -- rec-stdio < in
    assert_equal "$status" 3
    rec-dump -q -o report -- rec-stdio < in > out || [ $? -eq 3 ]
    cmp in out
    run figures
    assert_output "summary image=1 live_bytes=0 live_blocks=0 peak_bytes=8192 allocs=2 frees=2 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
}

@test "without a usable MEMKIT_RECORD_FD the preload only forwards" {
    lib=$MK_BUILD/lib/memkit/libmemkit-record.so
    seq 1 1000 > in
    LD_PRELOAD=$lib rec-stdio < in > out || [ $? -eq 3 ]
    cmp in out
    MEMKIT_RECORD_FD=nonsense LD_PRELOAD=$lib rec-stdio < in > out || [ $? -eq 3 ]
    cmp in out
    # a regular file is not the recorder's pipe: nothing is written to it
    MEMKIT_RECORD_FD=1 LD_PRELOAD=$lib rec-stdio < in > out || [ $? -eq 3 ]
    cmp in out
    MEMKIT_RECORD_FD=77 LD_PRELOAD=$lib run rec-threads
    assert_success
}

@test "frames: innermost is the caller of malloc, then its callers, by frame pointers" {
    rec-dump -F -o report -- rec-bench deep 3
    bin=$(command -v rec-bench)
    bias=$(awk '$3 == "module" && $NF ~ /\/rec-bench$/ {print $4}' report)
    [ -n "$bias" ]
    run awk '$3 == "alloc" {print $7}' report
    assert_output "$(printf '5\n5\n5\n')"
    frames=$(awk '$3 == "alloc" {print $8; exit}' report)
    IFS='<' read -r -a f <<<"$frames"
    names=()
    for i in 0 1 2 3; do
        names+=("$(addr2line -f -e "$bin" "$(printf '%#x' $((f[i] - bias - 1)))" | head -1)")
    done
    assert_equal "${names[*]}" "leaf middle outer main"
}

@test "MEMKIT_RECORD_FRAMES=0 records no frames" {
    MEMKIT_RECORD_FRAMES=0 rec-dump -o report -- rec-bench deep 3
    run awk '$3 == "alloc" {print $7}' report
    assert_output "$(printf '0\n0\n0\n')"
}

@test "the benchmark program: live 0, allocs = frees = N, the peak it reckons itself" {
    for mode in "" deep; do
        peak=$(rec-bench $mode 100000 peak)
        assert_equal "$peak" 399444
        run rec -- rec-bench $mode 100000
        assert_success
        run figures
        assert_output "summary image=1 live_bytes=0 live_blocks=0 peak_bytes=399444 allocs=100000 frees=100000 reallocs=0 snapshots=0 inherited=0 bad=0 gaps=0 end=exit"
    done
}
