# loa — build, test, demo and benchmark.
#
# `make demo` and `make test` install missing Debian packages first (tools/deps.sh), then
# re-enter make so that pkg-config runs only once the libraries are there.
#
# Targets: build, asan, test, demo, bench, bench-scale, soak (the crash test with 50 kills of
# the daemon, outside `make test`; LOA_SOAK_KILLS sets the number), install, clean, distclean.

CC      ?= cc
FUZZCC  ?= clang
PKGS    := libuv libpq libcurl libcjson libmicrohttpd inih libutf8proc libcrypto xlsxwriter
PKGCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKGLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lm
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -Wshadow -Wformat=2
CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE -I. -Ibuild/gen $(WARN) $(PKGCFLAGS)
REL_CFLAGS  = $(CFLAGS_COMMON) -O2 -g
ASAN_CFLAGS = $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(CFLAGS_COMMON) -Wno-unknown-warning-option -O1 -g -fsanitize=fuzzer-no-link,address,undefined

SRCS     := $(wildcard core/*.c segments/*.c campaigns/*.c gateways/*.c web/*.c engine/*.c cli/*.c)
LIBSRCS  := $(filter-out cli/main.c,$(SRCS))
SQLS     := $(sort $(wildcard sql/*.sql))
# Functions, triggers and views: applied again by every `loa db migrate`, after the migrations.
# The transition tables are generated from the C ones (tools/gen_transitions.c) and applied first.
FUNCS    := $(sort $(wildcard sql/functions/*.sql))
GENSQL   := build/gen/sql/functions/00_transitions.sql
WEBS     := $(sort $(wildcard web/static/*.html web/static/*.js web/static/*.css))
UNITS    := $(wildcard tests/unit/test_*.c)
FUZZERS  := $(wildcard tests/fuzz/fuzz_*.c)
GEN      := build/gen/embedded.c

REL_OBJS  := $(LIBSRCS:%.c=build/rel/%.o) build/rel/gen/embedded.o
ASAN_OBJS := $(LIBSRCS:%.c=build/asan/%.o) build/asan/gen/embedded.o
FUZZ_OBJS := $(LIBSRCS:%.c=build/fuzz/%.o) build/fuzz/gen/embedded.o

.PHONY: all build asan deps test test-run demo demo-run bench bench-run bench-scale bench-scale-run soak soak-run fuzz install clean distclean
all: build
build: build/loa build/tests/sink
asan: build/loa-asan

deps:
	@tools/deps.sh

build/tools/gen_transitions: tools/gen_transitions.c campaigns/message.c campaigns/message.h \
		campaigns/campaign_status.c campaigns/campaign_status.h core/pgarray.c core/pgarray.h
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(filter %.c,$^) -o $@
$(GENSQL): build/tools/gen_transitions
	@mkdir -p $(dir $@)
	build/tools/gen_transitions $@

# Embedded in name order (build/gen/ dropped from the names): migrations, then functions.
$(GEN): tools/embed.sh $(SQLS) $(GENSQL) $(FUNCS) $(WEBS)
	@mkdir -p $(dir $@)
	tools/embed.sh $@ $(SQLS) $(GENSQL) $(FUNCS) $(WEBS)

build/rel/gen/embedded.o: $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c $< -o $@
build/asan/gen/embedded.o: $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c $< -o $@
build/fuzz/gen/embedded.o: $(GEN)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -c $< -o $@

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@
build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

# Built afresh: `ar rcs` alone would keep the object of a source file since removed.
build/rel/libloa.a: $(REL_OBJS)
	@rm -f $@
	ar rcs $@ $^
build/asan/libloa.a: $(ASAN_OBJS)
	@rm -f $@
	ar rcs $@ $^
build/fuzz/libloa.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/loa: build/rel/cli/main.o build/rel/libloa.a
	$(CC) $(REL_CFLAGS) $^ $(PKGLIBS) -o $@
build/loa-asan: build/asan/cli/main.o build/asan/libloa.a
	$(CC) $(ASAN_CFLAGS) $^ $(PKGLIBS) -o $@

# The benchmark sink: a small C HTTP server that answers like Kannel's sendsms.
build/tests/sink: tests/bench/sink.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $< $(PKGLIBS) -o $@

# Template rendering throughput (tests/bench/part_render.sh).
build/tests/render_bench: tests/bench/render_bench.c build/rel/libloa.a
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $< build/rel/libloa.a $(PKGLIBS) -o $@

# Unit tests: one process per test file, each linked against the library (plain and sanitized).
UNIT_REL  := $(UNITS:tests/unit/%.c=build/tests/rel/%)
UNIT_ASAN := $(UNITS:tests/unit/%.c=build/tests/asan/%)
build/tests/rel/%: tests/unit/%.c build/rel/libloa.a
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP $< build/rel/libloa.a $(PKGLIBS) -lcmocka -o $@
build/tests/asan/%: tests/unit/%.c build/asan/libloa.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -MMD -MP $< build/asan/libloa.a $(PKGLIBS) -lcmocka -o $@

FUZZ_BINS := $(FUZZERS:tests/fuzz/%.c=build/fuzz/bin/%)
build/fuzz/bin/%: tests/fuzz/%.c build/fuzz/libloa.a
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer $< build/fuzz/libloa.a $(PKGLIBS) -o $@

units: $(UNIT_REL) $(UNIT_ASAN)
fuzzers: $(FUZZ_BINS)

# The builds a target needs run in parallel, one job per core (a fresh clone builds three
# variants of every file and two of every unit test); the tests themselves start after them.
JOBS := $(shell nproc 2>/dev/null || echo 2)

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) test-run
test-run: build/loa build/loa-asan build/tests/sink units fuzzers
	@tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) demo-run
demo-run: build/loa build/tests/sink
	@tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory bench-run
bench-run: build/loa build/tests/sink build/tests/render_bench
	@tests/bench/bench.sh
# A 1,000,000-citizen campaign (several minutes): its figures join var/bench.json.
bench-scale: deps
	@$(MAKE) --no-print-directory bench-scale-run
bench-scale-run: build/loa build/tests/sink
	@BENCH_MODE=scale tests/bench/bench.sh

# The crash test of `make test` (5 kills) run with 50 SIGKILLs of the daemon during one campaign
# through real Kannel: nobody messaged twice, everyone reached or in_doubt. A few minutes.
LOA_SOAK_KILLS ?= 50
soak: deps
	@$(MAKE) --no-print-directory soak-run
soak-run: build/loa
	LOA_SOAK_KILLS=$(LOA_SOAK_KILLS) LOA_BIN=$(CURDIR)/build/loa /usr/bin/python3 -m pytest -q -x tests/integration/test_crash.py

# Installing as a service: the binary, the systemd unit (with the binary's path), the user
# (sysusers.d), an example configuration with every key commented out (installed as loa.conf
# only when there is none, so a reinstall keeps the operator's), and a logrotate rule.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
install: build/loa
	install -D -m 755 build/loa $(DESTDIR)$(BINDIR)/loa
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/loa $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	sed 's|@BINDIR@|$(BINDIR)|g' dist/loa.service.in >$(DESTDIR)$(UNITDIR)/loa.service
	chmod 644 $(DESTDIR)$(UNITDIR)/loa.service
	install -D -m 644 dist/loa.sysusers $(DESTDIR)$(SYSUSERSDIR)/loa.conf
	install -m 644 dist/loa.conf.example $(DESTDIR)$(SYSCONFDIR)/loa/loa.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/loa/loa.conf ] || install -m 640 dist/loa.conf.example $(DESTDIR)$(SYSCONFDIR)/loa/loa.conf
	install -m 644 dist/loa.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/loa

clean:
	rm -rf build
distclean: clean
	tests/kannel.sh stop var/kannel >/dev/null 2>&1 || true
	for d in var/pg var/bench-pg; do [ -e $$d ] && (cd / && $(CURDIR)/tests/pg.sh stop "$$(readlink -f $(CURDIR)/$$d)") >/dev/null 2>&1; done; true
	rm -rf var

-include $(shell find build -name '*.d' 2>/dev/null)
