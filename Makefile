# foyer - non-recursive build.
#
#   make                      build/foyer
#   make test                 install test dependencies, build, run every test
#   make run                  install what is missing, build, serve the demo
#   make SANITIZE=address,undefined test    the same under sanitizers
#   make fuzz                 libFuzzer targets (clang)
#   make install DESTDIR=...  install into a tree

comma := ,
SANITIZE ?=
WERROR ?=
O ?= build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

CC ?= cc
PREFIX ?= /usr
SYSCONFDIR ?= /etc
DESTDIR ?=

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wnull-dereference
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE -fno-strict-aliasing \
	-MMD -MP
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

PKGS := libevent libevent_openssl libevent_pthreads inih libssl libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += $(PKG_CFLAGS)
LIBS := $(PKG_LIBS) -lpthread

# Every .c file of these folders is part of the server; proxy/main.c holds
# main() and stays out of the library the tests link against.
LIB_SRCS := $(filter-out proxy/main.c,$(wildcard conf/*.c proxy/*.c fcgi/*.c mpm/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
MAIN_OBJ := $(O)/proxy/main.o

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(O)/tests/replay_%)

# Debian's python3, where scripts/deps.sh installs pytest and requests.
PYTEST ?= /usr/bin/python3 -m pytest

.PHONY: all test unit replay http run install clean fuzz deps-run deps-test bench

all: $(O)/foyer

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/libfoyer.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(O)/foyer: $(MAIN_OBJ) $(O)/libfoyer.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/test_%: tests/unit/test_%.c $(O)/libfoyer.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(O)/libfoyer.a $(LDFLAGS) $(LIBS) -lcmocka

# The fuzz targets, replayed over their committed corpora with a plain main().
$(O)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(O)/libfoyer.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(O)/libfoyer.a $(LDFLAGS) $(LIBS)

# The misbehaving FastCGI backend of the black-box tests, on Debian's
# libfcgi (a test dependency, so "all" does not build it).
$(O)/tests/fcgi_fault: tests/http/fcgi_fault.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs fcgi 2>/dev/null || echo -lfcgi) -lpthread

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

replay: $(REPLAY_BINS)
	@set -e; for t in $(REPLAY_BINS); do \
		n=$${t##*/replay_}; echo "== $$t tests/fuzz/corpus/$$n"; \
		$$t tests/fuzz/corpus/$$n; done

# HTTP_K: a pytest -k expression, e.g. HTTP_K='worker or event'.
HTTP_K ?=
http: $(O)/foyer $(O)/tests/fcgi_fault
	FOYER_BIN=$(CURDIR)/$(O)/foyer $(PYTEST) -q tests/http \
		$(if $(HTTP_K),-k "$(HTTP_K)")

deps-test:
	@scripts/deps.sh test

deps-run:
	@scripts/deps.sh run

# The README's test command: dependencies, build, every test.
test: deps-test
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory replay
	$(MAKE) --no-print-directory http

# The README's run command: dependencies, build, the demo site on :8080.
run: deps-run
	$(MAKE) --no-print-directory all
	scripts/demo.sh $(O)/foyer

FUZZ_CC ?= clang
fuzz: $(O)/libfoyer.a
	@mkdir -p $(O)/fuzz
	@set -e; for f in $(FUZZ_SRCS); do \
		n=$$(basename $$f .c); \
		$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -D_GNU_SOURCE \
			-o $(O)/fuzz/$$n $$f $(filter-out %/main.c,$(LIB_SRCS)) $(PKG_CFLAGS) $(LIBS); \
		echo "built $(O)/fuzz/$$n: run $(O)/fuzz/$$n tests/fuzz/corpus/$${n#fuzz_} -dict=tests/fuzz/$${n#fuzz_}.dict"; \
	done

install: $(O)/foyer
	install -D -m 0755 $(O)/foyer $(DESTDIR)$(PREFIX)/sbin/foyer
	install -D -m 0644 conf/dist/foyer.ini $(DESTDIR)$(SYSCONFDIR)/foyer/foyer.ini
	install -d $(DESTDIR)$(SYSCONFDIR)/foyer/sites-available $(DESTDIR)$(SYSCONFDIR)/foyer/sites-enabled
	install -m 0644 conf/dist/sites-available/*.ini $(DESTDIR)$(SYSCONFDIR)/foyer/sites-available/

bench: $(O)/foyer
	bench/run

clean:
	rm -rf build build-*

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)
