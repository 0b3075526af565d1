# akvd - Azure Key Vault secrets agent
#
#   make          build build/akvd (release, -Werror)
#   make check    install missing dependencies, build with ASan+UBSan, run
#                 the unit (cmocka) and integration (node:test) suites
#   make demo     run akvd against the local Azure doubles
#   make bench    akvd, the Azure SDK for JS and a curl|jq loop side by side
#                 on the doubles (memory, CPU, requests; build/bench.json),
#                 then the figures of make fleet
#   make fleet    200 akvd against one throttling Key Vault double, an outage
#                 and its recovery (build/fleet.json; not in make check)
#   make soak     one akvd for SOAK_MINUTES under rotations, reloads and
#                 faults, then valgrind (build/soak.json; not in make check)
#   make fuzz     run every libFuzzer harness of tests/fuzz/ for FUZZ_SECONDS
#                 (clang; fails on a crash, which lands in build/fuzz/crashes)
#   make static   build/static/akvd: one static executable (for the image)
#   make image    the container images akvd:VERSION and akvd-postgres:VERSION
#                 (podman; bases made with mmdebstrap, never pulled)
#   make image-check    run the image as the k8s manifests do, on the doubles
#   make systemd-check  akvd.service under Debian's systemd in podman
#   make install  install binary, unit, man pages, example config

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKG_CFLAGS := $(shell pkg-config --cflags libcurl libcjson openssl libmicrohttpd 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libcurl libcjson openssl libmicrohttpd 2>/dev/null || echo -lcurl -lcjson -lssl -lcrypto -lmicrohttpd)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wno-unused-parameter
CPPFLAGS += -Iinclude -D_GNU_SOURCE -DAKVD_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDLIBS   += $(PKG_LIBS) -lev -lm

SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := $(sort $(wildcard src/*.c))
HDR      := $(wildcard include/*.h src/*.h)
OBJ      := $(SRC:src/%.c=build/obj/%.o)
SAN_OBJ  := $(SRC:src/%.c=build/san/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/%)
TEST_HELPERS := $(patsubst tests/helpers/%.c,build/test/%,$(wildcard tests/helpers/*.c))

.PHONY: all check unit integration deps demo install clean bench \
        fuzz fuzz-build fuzz-replay fuzz-check fuzz-run \
        static image image-check systemd-check

all: build/akvd

build/obj/%.o: src/%.c $(HDR) | build/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

build/akvd: daemon/main.c $(OBJ) $(HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ daemon/main.c $(OBJ) $(LDFLAGS) $(LDLIBS)

# Sanitized build used by every test.
build/san/obj/%.o: src/%.c $(HDR) | build/san/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

build/san/akvd: daemon/main.c $(SAN_OBJ) $(HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SAN) -o $@ daemon/main.c $(SAN_OBJ) $(LDFLAGS) $(LDLIBS)

build/san/test_%: tests/unit/test_%.c $(SAN_OBJ) $(HDR) $(wildcard tests/unit/*.h)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -O1 $(SAN) -Wno-missing-prototypes \
	    -o $@ $< $(SAN_OBJ) $(LDFLAGS) $(LDLIBS) -lcmocka

# Small programs the integration tests use (a systemd notify socket).
build/test/%: tests/helpers/%.c | build/test
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<

# The static build (scripts/build-static.sh builds OpenSSL, libcurl,
# libmicrohttpd and cJSON from Debian's sources into build/static/prefix,
# then makes build/static/akvd): libev and zlib from Debian's .a files.
STATIC_PREFIX ?= build/static/prefix
STATIC_OBJ := $(SRC:src/%.c=build/static/obj/%.o)
STATIC_CPPFLAGS := -Iinclude -I$(STATIC_PREFIX)/include -DCURL_STATICLIB \
            -D_GNU_SOURCE -DAKVD_VERSION='"$(VERSION)"'
STATIC_CFLAGS := -O2 -std=c11 $(WARN) -fstack-protector-strong \
            -D_FORTIFY_SOURCE=2 -ffunction-sections -fdata-sections
STATIC_LIBS := $(STATIC_PREFIX)/lib/libcurl.a $(STATIC_PREFIX)/lib/libmicrohttpd.a \
            $(STATIC_PREFIX)/lib/libcjson.a $(STATIC_PREFIX)/lib/libssl.a \
            $(STATIC_PREFIX)/lib/libcrypto.a

static:
	@scripts/install-deps.sh static
	@scripts/build-static.sh

# The images (podman; see Dockerfile) and their checks against the doubles.
image: static
	@scripts/install-deps.sh image
	@scripts/image.sh

image-check: deps
	@scripts/install-deps.sh image
	node --test --test-concurrency=1 tests/container/image.test.js

systemd-check: deps static
	@scripts/install-deps.sh image
	node --test --test-concurrency=1 tests/container/systemd.test.js

build/static/obj/%.o: src/%.c $(HDR) $(STATIC_LIBS) | build/static/obj
	$(CC) $(STATIC_CPPFLAGS) $(STATIC_CFLAGS) -c -o $@ $<

build/static/akvd: daemon/main.c $(STATIC_OBJ) $(HDR) $(STATIC_LIBS)
	$(CC) $(STATIC_CPPFLAGS) $(STATIC_CFLAGS) -static -s -Wl,--gc-sections \
	    -o $@ daemon/main.c $(STATIC_OBJ) $(STATIC_LIBS) \
	    -Wl,-Bstatic -lev -lz -lm -pthread

# The template engine, sanitized, for the differential and round-trip
# tests (tests/integration/template.test.js).
build/test/tmpl_render: tests/helpers/tmpl_render.c $(SAN_OBJ) $(HDR) | build/test
	$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SAN) -o $@ $< $(SAN_OBJ) $(LDFLAGS) $(LDLIBS)

build/obj build/san/obj build/test build/static/obj:
	mkdir -p $@

deps:
	@scripts/install-deps.sh

check: deps
	$(MAKE) build/akvd build/san/akvd $(UNIT_BIN) $(TEST_HELPERS)
	$(MAKE) unit integration fuzz-check

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do \
	    echo "== $$t"; \
	    (cd tests/unit && ASAN_OPTIONS=detect_leaks=1 ../../$$t); \
	done

integration: build/san/akvd $(TEST_HELPERS)
	@if ls tests/integration/*.test.js >/dev/null 2>&1; then \
	    AKVD_BIN=$(CURDIR)/build/san/akvd node --test --test-concurrency=2 \
	        tests/integration/; \
	else echo "integration: no tests yet"; fi

# Fuzzing: libFuzzer harnesses (tests/fuzz/fuzz_*.c) linked against akvd's
# modules built by clang with ASan and UBSan (which, unlike GCC's, flags
# float-to-integer overflow).  The modules are an archive: a harness that
# includes a module's source to reach its static parsers (fuzz_http,
# fuzz_blob) takes that module's place.  Each run starts from the committed
# seeds and regressions (read only) and keeps what it finds in
# build/fuzz/corpus/; a crash is written to build/fuzz/crashes/ and fails
# the target: commit it as tests/fuzz/HARNESS/regressions/NAME.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 24
FUZZ_CHECK_RUNS ?= 20000
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=c11 $(filter-out -Werror,$(WARN)) \
                -Wno-format-nonliteral $(FUZZ_SAN)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_BIN     := $(FUZZ_NAMES:%=build/fuzz/%)
FUZZ_OBJ     := $(SRC:src/%.c=build/fuzz/obj/%.o)
FUZZ_RUN     := -timeout=20 -rss_limit_mb=2560 -print_final_stats=0

build/fuzz/obj/%.o: src/%.c $(HDR) | build/fuzz/obj
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    -c -o $@ $<

build/fuzz/libakvd.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $(FUZZ_OBJ)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libakvd.a \
    $(SRC) $(HDR)
	$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	    -o $@ $< build/fuzz/libakvd.a $(LDFLAGS) $(LDLIBS)

build/fuzz/obj:
	mkdir -p $@

fuzz-build: $(FUZZ_BIN)

# Every committed seed and regression input, once each.
fuzz-replay: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_NAMES); do \
	    echo "== fuzz-replay $$f"; \
	    find tests/fuzz/$$f -type f -path '*/seeds/*' -o -type f \
	        -path '*/regressions/*' | sort | \
	        xargs -r build/fuzz/$$f $(FUZZ_RUN) \
	        >build/fuzz/$$f.replay.log 2>&1 || \
	        { tail -40 build/fuzz/$$f.replay.log; exit 1; }; \
	done

# Each harness for FUZZ_SECONDS (the default 24: 13 harnesses in 5 min),
# niced, from a random seed; what it finds is kept in build/fuzz/corpus/.
fuzz: $(FUZZ_BIN)
	@$(MAKE) --no-print-directory fuzz-run \
	    FUZZ_LIMIT="-max_total_time=$(FUZZ_SECONDS)" FUZZ_CORPUS=corpus

# What make check runs: the replay, then FUZZ_CHECK_RUNS inputs of every
# harness from a fixed seed and a fresh corpus, so that the check is the
# same on every machine and every run (a random search belongs to make
# fuzz, whose finds are committed as regressions).
fuzz-check: fuzz-replay
	@rm -rf build/fuzz/check
	@$(MAKE) --no-print-directory fuzz-run FUZZ_CORPUS=check \
	    FUZZ_LIMIT="-seed=1 -runs=$(FUZZ_CHECK_RUNS)"

fuzz-run: $(FUZZ_BIN)
	@set -e; mkdir -p build/fuzz/crashes; for f in $(FUZZ_NAMES); do \
	    mkdir -p build/fuzz/$(FUZZ_CORPUS)/$$f; \
	    echo "== fuzz $$f ($(FUZZ_LIMIT))"; \
	    regr=""; [ -d tests/fuzz/$$f/regressions ] && \
	        regr=tests/fuzz/$$f/regressions; \
	    nice -n 10 build/fuzz/$$f $(FUZZ_RUN) $(FUZZ_LIMIT) \
	        -artifact_prefix=build/fuzz/crashes/$$f- \
	        build/fuzz/$(FUZZ_CORPUS)/$$f tests/fuzz/$$f/seeds $$regr \
	        >build/fuzz/$$f.log 2>&1 || \
	        { tail -60 build/fuzz/$$f.log; \
	          echo "fuzz: $$f crashed: build/fuzz/crashes/$$f-*"; \
	          exit 1; }; \
	    grep -h '^#[0-9]*.*DONE' build/fuzz/$$f.log || true; \
	done

# Figures side by side with the peers (see tests/bench/bench.js); several
# minutes; writes build/bench.json.  Not part of check: nothing asserted.
bench: deps build/akvd
	@tests/bench/deps.sh
	node tests/bench/bench.js
	FLEET_STRICT=0 scripts/fleet.sh

# Reliability over time and in numbers (README "Reliability").
.PHONY: fleet soak
fleet: deps build/akvd
	scripts/fleet.sh

soak: deps build/akvd
	node tests/reliability/soak.js

demo: deps build/akvd
	@scripts/demo.sh

install: build/akvd
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)/etc/akvd \
	    $(DESTDIR)$(PREFIX)/share/doc/akvd/examples \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 build/akvd $(DESTDIR)$(PREFIX)/bin/akvd
	install -m 0644 README.md config/schema.json \
	    $(DESTDIR)$(PREFIX)/share/doc/akvd/
	install -m 0644 config/akvd.json config/sidecar.json \
	    $(DESTDIR)$(PREFIX)/share/doc/akvd/examples/
	sed 's|/usr/local/bin/akvd|$(PREFIX)/bin/akvd|; s|/usr/local/share|$(PREFIX)/share|' \
	    systemd/akvd.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/akvd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/akvd.service
	for m in man8/akvd.8 man5/akvd.json.5; do \
	    sed 's|/usr/local/share|$(PREFIX)/share|' man/$${m#*/} \
	        > $(DESTDIR)$(PREFIX)/share/man/$$m && \
	    chmod 0644 $(DESTDIR)$(PREFIX)/share/man/$$m || exit 1; \
	done
	[ -f $(DESTDIR)/etc/akvd/akvd.json ] || \
	    install -m 0644 config/akvd.json $(DESTDIR)/etc/akvd/akvd.json

clean:
	rm -rf build demo
