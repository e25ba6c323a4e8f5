# lib.bash — helpers the benchmark scripts share (sourced, not run).

# run CMD: one run of CMD under /usr/bin/time in the current directory,
# stdout in out.txt, stderr in err.txt; sets rc (its exit status), w (wall
# s), c (user + sys s, the whole process tree) and m (peak RSS KiB).
run() {
    rm -f rc.txt
    /usr/bin/time -f '%e %U %S %M' -o t.out bash -c "$1 > out.txt 2> err.txt; echo \$? > rc.txt" 2> /dev/null || true
    rc=$(cat rc.txt 2> /dev/null || echo 255)
    read -r w u s m < <(tail -n 1 t.out)
    c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
}

# median: the median of the numbers on stdin (blank- or line-separated);
# of an even count, the lower middle one.
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
