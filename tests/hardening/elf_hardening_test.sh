#!/bin/sh
# Reads the built edge-connector ELF (binutils readelf) and checks the hardening the build asks
# for (CMakeLists.txt, EDGE_HARDEN): PIE, full RELRO (GNU_RELRO + BIND_NOW), no executable stack,
# the stack protector, and with --fortify _FORTIFY_SOURCE's checked functions.
#   elf_hardening_test.sh [--fortify] BINARY
set -u
fortify=0
if [ "${1:-}" = "--fortify" ]; then fortify=1; shift; fi
bin="${1:?usage: elf_hardening_test.sh [--fortify] BINARY}"
[ -f "$bin" ] || { echo "FAIL: no binary at $bin"; exit 1; }

failures=0
check() {  # description, then a command whose success means the check passed
  what="$1"; shift
  if "$@" >/dev/null 2>&1; then echo "ok:   $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

header=$(readelf -h -W "$bin") || { echo "FAIL: readelf cannot read $bin"; exit 1; }
segments=$(readelf -l -W "$bin")
dynamic=$(readelf -d -W "$bin")
symbols=$(readelf --dyn-syms -W "$bin")

check "PIE: ELF type DYN" sh -c 'printf "%s\n" "$1" | grep -Eq "^ *Type: +DYN"' _ "$header"
check "PIE: FLAGS_1 has PIE" sh -c 'printf "%s\n" "$1" | grep -E "\(FLAGS_1\)" | grep -qw PIE' _ "$dynamic"
check "RELRO: GNU_RELRO segment" sh -c 'printf "%s\n" "$1" | grep -qw GNU_RELRO' _ "$segments"
check "full RELRO: BIND_NOW (FLAGS) or NOW (FLAGS_1)" sh -c \
  'printf "%s\n" "$1" | grep -Eq "\(BIND_NOW\)|\(FLAGS\) .*BIND_NOW|\(FLAGS_1\) .*\<NOW\>"' _ "$dynamic"
check "no executable stack: GNU_STACK is RW" sh -c \
  'printf "%s\n" "$1" | grep -w GNU_STACK | grep -Eq " RW +0x"' _ "$segments"
# A static(-pie) binary (EDGE_STATIC) imports nothing: glibc is inside it, so the stack protector
# and the checked functions are looked for among its own symbols (it must not be stripped). That
# is weaker (glibc's own code calls them too); the compile flags are in CMakeLists.txt.
if printf "%s\n" "$dynamic" | grep -q "(NEEDED)"; then
  linked=imported
  # Imported symbols by name, version suffix dropped ("__memcpy_chk@GLIBC_2.3.4" -> __memcpy_chk).
  imports=$(printf "%s\n" "$symbols" | awk '$7 == "UND" { sub(/@.*/, "", $8); print $8 }' | sort -u)
else
  linked="linked in"
  # (only the names looked for: the whole table is too long for one argument)
  imports=$(readelf -s -W "$bin" | awk '$4 == "FUNC" && $7 != "UND" { sub(/@.*/, "", $8); print $8 }' \
    | grep -E '^__stack_chk_fail$|^__[a-z0-9_]+_chk$' | sort -u)
  check "static: symbol table present (not stripped)" sh -c \
    'readelf -S -W "$1" | grep -qw .symtab' _ "$bin"
fi
check "stack protector: __stack_chk_fail $linked" sh -c \
  'printf "%s\n" "$1" | grep -qx __stack_chk_fail' _ "$imports"
if [ "$fortify" -eq 1 ]; then
  fortified=$(printf "%s\n" "$imports" | grep -E '^__[a-z0-9_]+_chk$' | head -n 12 | tr '\n' ' ')
  check "_FORTIFY_SOURCE: a __*_chk function $linked ($fortified)" \
    test -n "$fortified"
fi

[ "$failures" -eq 0 ] || { echo "$failures hardening check(s) failed for $bin"; exit 1; }
echo "hardened: $bin"
