#!/usr/bin/env bats
# make install / uninstall with PREFIX and DESTDIR, and the installed library
# used from C through pkg-config, as a program outside the tree would.

load helpers

mk() {
    local extra=()
    case $MK_BUILD in
        */asan) extra=(CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
                       EXTRA_LDFLAGS="-fsanitize=address,undefined") ;;
    esac
    make -s -C "$ROOT" B="$MK_BUILD" "${extra[@]}" "$@"
}

@test "make install puts the library, headers, memkit.pc and man pages under DESTDIR/PREFIX" {
    run mk install DESTDIR="$T/dest" PREFIX=/opt/mk
    assert_success
    [ -f dest/opt/mk/lib/libmemkit.a ]
    [ -f dest/opt/mk/include/memkit/source.h ]
    [ -f dest/opt/mk/include/memkit/map.h ]
    [ -f dest/opt/mk/share/man/man5/memkit-formats.5 ]
    run cat dest/opt/mk/lib/pkgconfig/memkit.pc
    assert_line "prefix=/opt/mk"
    assert_line --regexp '^Version: [0-9]+\.[0-9]+\.[0-9]+$'
    for d in "$ROOT"/cmd/*/; do
        [ -d "$d" ] || continue
        t=$(basename "$d")
        [ -x "dest/opt/mk/bin/$t" ]
        [ -f "dest/opt/mk/share/man/man1/$t.1" ]
        [ -f "dest/opt/mk/share/bash-completion/completions/$t" ]
        [ -f "dest/opt/mk/share/zsh/site-functions/_$t" ]
        [ -f "dest/opt/mk/share/fish/vendor_completions.d/$t.fish" ]
    done
}

@test "a C program builds against the installed library with pkg-config and works" {
    mk install DESTDIR="$T/dest" PREFIX="$T/usr"
    mv "dest$T/usr" "$T/usr"
    cat > prog.c <<'C'
#include <memkit/source.h>
#include <memkit/lines.h>
#include <memkit/map.h>
#include <memkit/err.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    mk_lines *l = mk_lines_open(argc > 1 ? argv[1] : "-", NULL);
    if (!l) mk_die_err();
    mk_map m;
    mk_map_init(&m, 0);
    mk_line ln;
    int r;
    while ((r = mk_lines_next(l, &ln)) == 1)
        (*mk_map_put(&m, ln.ptr, ln.len, NULL))++;
    if (r < 0) mk_die_err();
    printf("%zu distinct\n", mk_map_len(&m));
    mk_map_free(&m);
    return mk_lines_close(l) < 0;
}
C
    san=""
    case $MK_BUILD in */asan) san="-fsanitize=address,undefined" ;; esac
    run bash -c "cc $san -o prog prog.c \$(PKG_CONFIG_PATH=$T/usr/lib/pkgconfig pkg-config --cflags --libs --static memkit)"
    assert_success
    printf 'a\nb\na\n' | zstd -q > in.zst
    run ./prog in.zst
    assert_success
    assert_output "2 distinct"
}

@test "make uninstall removes everything install put there" {
    mk install DESTDIR="$T/dest" PREFIX=/usr
    run mk uninstall DESTDIR="$T/dest" PREFIX=/usr
    assert_success
    run find dest -type f
    assert_output ""
}
