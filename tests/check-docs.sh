#!/usr/bin/env bash
# check-docs.sh BINARY MANPAGE COMPLETIONS_DIR
# The options a tool accepts (its own table, `BINARY --list-options`) must be
# exactly those its man page lists under OPTIONS (mdoc `.It Fl x , Fl \-long`
# items) and those its bash/zsh/fish completions offer (the committed files
# must equal what completions/generate.sh makes now), and --help must show
# every long option; likewise the options of a command that has its own
# (`BINARY --list-commands`). Prints each disagreement; exits 1 if there is
# any.
set -uo pipefail
bin=$1 man=$2 comp=$3
tool=$(basename "$bin")
here=$(cd "$(dirname "$0")" && pwd)
bad=0
say() { echo "$tool: $*"; bad=1; }

want=$("$bin" --list-options | cut -f1,2 | tr '\t' '\n' | grep . | sort -u)

# Options named in the man page's OPTIONS section.
got=$(awk '/^\.Sh /{ on = ($2 == "OPTIONS") } on && /^\.It Fl/' "$man" |
      grep -oE 'Fl +(\\-|-)?[A-Za-z0-9][A-Za-z0-9-]*' |
      sed -E 's/^Fl +//; s/^\\-/-/; s/^/-/' | sort -u)
missing=$(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')
extra=$(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')
[ -n "${missing// }" ] && say "man page $man does not list: $missing"
[ -n "${extra// }" ] && say "man page $man lists options the tool does not have: $extra"

help=$("$bin" --help)
for o in $(echo "$want" | grep '^--'); do
    grep -q -- "$o" <<<"$help" || say "--help does not show $o"
done

# Subcommands (reports): named in the man page (.Cm) and in --help.
for s in $("$bin" --list-subcommands); do
    grep -q "^\.It Cm $s\b\|^\.Cm $s\b" "$man" || say "man page $man does not describe the subcommand $s"
    grep -qw -- "$s" <<<"$help" || say "--help does not show the subcommand $s"
done

# Commands with options of their own (leakdiff record): each option is an
# item somewhere in the man page (its own section) and in the command's --help.
for c in $("$bin" --list-commands); do
    grep -qE "(^|[ .])Cm $c( |$)" "$man" ||
        say "man page $man does not describe the command $c"
    chelp=$("$bin" "$c" --help)
    items=$(grep '^\.It Fl' "$man" | grep -oE 'Fl +(\\-|-)?[A-Za-z0-9][A-Za-z0-9-]*' |
            sed -E 's/^Fl +//; s/^\\-/-/; s/^/-/' | sort -u)
    for o in $("$bin" "$c" --list-options | cut -f1,2 | tr '\t' '\n' | grep .); do
        grep -qx -- "$o" <<<"$items" || say "man page $man does not list $c's option $o"
        [[ $o == --* ]] && ! grep -q -- "$o" <<<"$chelp" && say "$c --help does not show $o"
    done
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/../completions/generate.sh" "$bin" "$tmp" >/dev/null
for f in "bash/$tool" "zsh/_$tool" "fish/$tool.fish"; do
    if [ ! -f "$comp/$f" ]; then
        say "completion $comp/$f is missing (run completions/generate.sh $bin)"
    elif ! diff -q "$tmp/$f" "$comp/$f" >/dev/null; then
        say "completion $comp/$f differs from the options table (run completions/generate.sh $bin)"
    fi
done
exit $bad
