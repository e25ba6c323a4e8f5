# memkit — the only build entry point (GNU make). Output goes to build/
# (and build/asan/ for the sanitizer pass of `make check`).
#
#   make            libmemkit.a + one binary per cmd/<tool>/ in build/bin/
#   make demo       deps, build, run every tool on generated sample data
#   make check      unit + bats + doc tests, then again under ASan+UBSan
#   make install    PREFIX=/usr/local DESTDIR=
#   make bench      tests/bench/*.sh            make fuzz   FUZZ_SECONDS=60

.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

PREFIX  ?= /usr/local
DESTDIR ?=
B       ?= build
VERSION := 0.1.0
PKGS    := libzstd zlib yaml-0.1 libxxhash

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-missing-field-initializers
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lzstd -lz -lyaml -lxxhash)
ALL_CFLAGS  = $(WARN) -Ilib -DMK_VERSION='"$(VERSION)"' -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE \
              $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)
LIBS        = $(PKG_LIBS) -lpthread -lm

LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
TOOLS    := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard cmd/*/main.c)))))
BINS     := $(TOOLS:%=$(B)/bin/%)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS    := $(UNIT_SRC:tests/unit/%.c=$(B)/test/%)
DRIVER   := $(B)/test/mkread
# Checkers that compile a tool's own sources in (tests/<tool>/*-check.c).
CHECKERS := $(B)/test/growth-check $(B)/test/mrc-check $(B)/test/genzipf
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all lib tools tests deps check-deps demo check check-one install uninstall bench fuzz fuzz-bins clean

# The LD_PRELOAD library of `leakdiff record`, and the programs its tests
# record (tests/leakdiff-record/): built without sanitizers in every build
# directory, since a sanitized library or program cannot be preloaded into,
# or preloaded with, an ordinary one.
PRELOAD  := $(B)/lib/memkit/libmemkit-record.so
REC_SRC  := $(filter-out %/rdump.c,$(sort $(wildcard tests/leakdiff-record/*.c)))
REC_BINS := $(REC_SRC:tests/leakdiff-record/%.c=$(B)/test/rec-%) $(B)/test/rec-dump

all: deps $(B)/libmemkit.a $(BINS) $(PRELOAD)
lib: $(B)/libmemkit.a
tools: $(BINS)
tests: $(UNITS) $(DRIVER) $(CHECKERS) $(REC_BINS)

# ---- dependencies -----------------------------------------------------------
# Debian packages every target needs. Installed when root, else the command is
# printed and make stops: a half-configured build is worse than a clear ask.
DEB_PKGS := gcc make pkg-config libzstd-dev zlib1g-dev libyaml-dev libxxhash-dev \
            zstd gzip bats bats-assert bats-support mandoc clang libclang-rt-dev zsh fish
# What only the tests use: xmllint and headless Chromium check the HTML
# reports, networkx and Graphviz check cyclefind, GNU parallel runs
# chunkproc's scale-out recipe (installed by `make check`, not by `make demo`).
CHECK_PKGS := libxml2-utils chromium python3 python3-networkx graphviz parallel
deps: $(B)/.deps-ok
check-deps: $(B)/.check-deps-ok
$(B)/.check-deps-ok: PKGS = $(CHECK_PKGS)
$(B)/.deps-ok: PKGS = $(DEB_PKGS)
$(B)/.deps-ok $(B)/.check-deps-ok: Makefile
	@missing=$$(for p in $(PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || printf '%s ' $$p; done); \
	if [ -n "$$missing" ] && command -v dpkg-query >/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "make deps: installing $$missing"; \
	        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) || \
	        { echo "make deps: apt-get install failed" >&2; exit 1; }; \
	    else \
	        echo "make deps: missing packages; run: sudo apt-get install $$missing" >&2; exit 1; \
	    fi; \
	fi
	@mkdir -p $(B) && touch $@

# ---- library and tools ------------------------------------------------------
$(B)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Hot loops that gain from -O3 (measured with tests/bench/ab-compare:
# leakdiff record's reader, 0.78 -> 0.74 CPU-s on the ring benchmark;
# chunkproc's aggregates, task A at -j 1 1.07 -> 1.00 s; lib/fields and
# chunkproc's main gained nothing). The sanitizer build passes HOT_OPT= and
# keeps its own flags.
HOT_OPT ?= -O3
$(B)/cmd/leakdiff/record.o $(B)/cmd/leakdiff/live.o $(B)/cmd/chunkproc/agg.o $(B)/cmd/chunkproc/exact.o: EXTRA_CFLAGS += $(HOT_OPT)

$(B)/libmemkit.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

.SECONDEXPANSION:
$(B)/bin/%: $$(addprefix $(B)/,$$(subst .c,.o,$$(wildcard cmd/$$*/*.c))) $(B)/libmemkit.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(B)/libmemkit.a $(LIBS)

$(B)/test/test_%: $(B)/tests/unit/test_%.o $(B)/libmemkit.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(B)/libmemkit.a $(LIBS)
# Tool modules with unit tests of their own are linked in.
$(B)/test/test_live: $(B)/cmd/leakdiff/live.o
$(B)/test/test_keytab: $(B)/cmd/refwatch/keytab.o
$(B)/test/test_reflist: $(B)/cmd/refwatch/reflist.o
$(B)/test/test_exact: $(B)/cmd/chunkproc/exact.o
$(B)/test/test_dset: $(B)/cmd/chunkproc/dset.o

$(DRIVER): $(patsubst %.c,$(B)/%.o,$(wildcard tests/driver/*.c)) $(B)/libmemkit.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(B)/libmemkit.a $(LIBS)
$(B)/test/growth-check: $(B)/tests/memsize/growth-check.o $(B)/libmemkit.a $(wildcard cmd/memsize/*.c cmd/memsize/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libmemkit.a $(LIBS)
$(B)/test/mrc-check: $(B)/tests/cachesim/mrc-check.o $(B)/cmd/cachesim/mrc.o $(B)/libmemkit.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(B)/libmemkit.a $(LIBS)
$(PRELOAD): cmd/leakdiff/preload/record.c cmd/leakdiff/recproto.h | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) -D_GNU_SOURCE -O2 -g -fPIC -shared -fvisibility=hidden -fno-omit-frame-pointer \
	    $(LDFLAGS) -o $@ $< -ldl -lpthread
$(B)/test/rec-%: tests/leakdiff-record/%.c lib/mark.h | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) -Ilib -D_GNU_SOURCE -O2 -g -fno-omit-frame-pointer -pthread $(LDFLAGS) -o $@ $<
$(B)/test/rec-dump: $(B)/tests/leakdiff-record/rdump.o
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<
# The seeded trace generator of the cachesim tests and benchmark.
$(B)/test/genzipf: $(B)/tests/bench/genzipf.o
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -lm

# ---- tests ------------------------------------------------------------------
# check-one runs the suite against one build directory; check runs it on the
# normal build and on the ASan+UBSan build and prints the summed verdict.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The fuzz targets replay their regression inputs in every check; with
# FUZZ_SMOKE=N (CI) each also fuzzes for N seconds.
# The unit tests of the thread-safe modules also run under ThreadSanitizer.
TSAN_UNITS := test_bus test_pool test_work
check: all tests fuzz-bins check-deps
	@$(MAKE) --no-print-directory B=$(B)/asan CFLAGS='$(SAN_FLAGS)' HOT_OPT= EXTRA_LDFLAGS='-fsanitize=address,undefined' all tests
	@$(MAKE) --no-print-directory B=$(B)/tsan CFLAGS='-O1 -g -fsanitize=thread' HOT_OPT= EXTRA_LDFLAGS='-fsanitize=thread' \
	    $(TSAN_UNITS:%=$(B)/tsan/test/%)
	@TSAN_DIR=$(B)/tsan FUZZ_DIR=$(B)/fuzz FUZZ_SMOKE=$(FUZZ_SMOKE) bash tests/run.sh $(B) $(B)/asan

check-one: all tests
	@bash tests/run.sh $(B)

demo: all tests
	@bash tests/demo.sh $(B)

bench: all tests
	@for s in tests/bench/*.sh; do echo "== $$s"; bash $$s $(B) || exit 1; done

FUZZ_SECONDS ?= 60
FUZZ_SMOKE   ?= 0
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -Ilib -DMK_VERSION='"$(VERSION)"' -D_FILE_OFFSET_BITS=64 \
                -D_GNU_SOURCE $(PKG_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_LIB_OBJ := $(LIB_SRC:lib/%.c=$(B)/fuzz/obj/%.o)
$(B)/fuzz/obj/%.o: lib/%.c | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
$(B)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(LIBS)
# A target that compiles a tool's own sources in (fuzz_TOOL.c includes them).
$(B)/fuzz/fuzz_leakdiff: $(wildcard cmd/leakdiff/*.c cmd/leakdiff/*.h)
$(B)/fuzz/fuzz_cyclefind: $(wildcard cmd/cyclefind/*.c cmd/cyclefind/*.h)
$(B)/fuzz/fuzz_refwatch: $(wildcard cmd/refwatch/*.c cmd/refwatch/*.h)
$(B)/fuzz/fuzz_memsize: $(wildcard cmd/memsize/*.c cmd/memsize/*.h)
$(B)/fuzz/fuzz_cachesim: $(wildcard cmd/cachesim/*.c cmd/cachesim/*.h)
fuzz-bins: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	@bash tests/fuzz/run.sh $(B)/fuzz $(FUZZ_SECONDS)

# ---- install ----------------------------------------------------------------
MANS1 := $(wildcard man/*.1)
MANS5 := $(wildcard man/*.5)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/memkit \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(MANS1),install -m 644 $(MANS1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MANS5),install -m 644 $(MANS5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	install -m 644 $(B)/libmemkit.a $(DESTDIR)$(PREFIX)/lib/
	install -d $(DESTDIR)$(PREFIX)/lib/memkit
	install -m 755 $(PRELOAD) $(DESTDIR)$(PREFIX)/lib/memkit/
	install -m 644 lib/*.h $(DESTDIR)$(PREFIX)/include/memkit/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' memkit.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/memkit.pc
	for t in $(TOOLS); do \
	    install -m 644 completions/bash/$$t $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t; \
	    install -m 644 completions/zsh/_$$t $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$t; \
	    install -m 644 completions/fish/$$t.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$t.fish; \
	done

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$t \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$t \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$t.fish; done
	rm -f $(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man1/%,$(MANS1)) \
	      $(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man5/%,$(MANS5))
	rm -f $(DESTDIR)$(PREFIX)/lib/libmemkit.a $(DESTDIR)$(PREFIX)/lib/pkgconfig/memkit.pc
	rm -rf $(DESTDIR)$(PREFIX)/lib/memkit
	rm -rf $(DESTDIR)$(PREFIX)/include/memkit

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
