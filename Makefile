# skiff — build, test, install.  See README.md.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS := glib-2.0 gio-2.0 gio-unix-2.0 ostree-1 libcurl jansson libarchive libcrypto libzstd zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# skiff-monitor starts on the path to every qemu: only what it uses.
MONITOR_PKGS := glib-2.0 gio-2.0 jansson
MONITOR_LIBS := $(shell pkg-config --libs $(MONITOR_PKGS) 2>/dev/null)

CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(SANITIZE),1)
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILDDIR := build-san
else
BUILDDIR := build
endif
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -I. -D_GNU_SOURCE -DSK_VERSION='"$(VERSION)"' \
	-DG_LOG_DOMAIN='"skiff"' -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 $(PKG_CFLAGS)

# Every module's sources are picked up by wildcard: adding a file needs no
# Makefile change.  Dependencies point one way: cmd -> runner, registry ->
# store -> oci -> common.
LIB_SRCS := $(sort $(wildcard common/*.c oci/*.c store/*.c registry/*.c runner/*.c))
CMD_SRCS := $(sort $(wildcard cmd/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILDDIR)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILDDIR)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILDDIR)/tests/unit/%)
LIBSKIFF := $(BUILDDIR)/libskiff.a

ifeq ($(SANITIZE),1)
SKIFF_BIN := $(BUILDDIR)/skiff
MONITOR_BIN := $(BUILDDIR)/skiff-monitor
else
SKIFF_BIN := skiff
MONITOR_BIN := skiff-monitor
endif
MONITOR_OBJS := $(BUILDDIR)/cmd/monitor/skiff-monitor.o

.PHONY: all deps check check-unit check-e2e check-slow demo install clean bench
all: $(SKIFF_BIN) $(MONITOR_BIN)

$(BUILDDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBSKIFF): $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(SKIFF_BIN): $(CMD_OBJS) $(LIBSKIFF)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(LIBSKIFF) $(PKG_LIBS) -lm

# The monitor takes from libskiff.a only the objects it calls (the VM
# record, qemu's argv, QMP) and none of the store's.
$(MONITOR_BIN): $(MONITOR_OBJS) $(LIBSKIFF)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(MONITOR_OBJS) $(LIBSKIFF) $(MONITOR_LIBS)

$(BUILDDIR)/tests/unit/%: tests/unit/%.c $(LIBSKIFF)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIBSKIFF) $(PKG_LIBS) -lm

-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d) $(MONITOR_OBJS:.o=.d) $(UNIT_BINS:=.d)

deps:
	@tests/deps.sh

# Unit tests always; end-to-end tests against real servers unless SANITIZE=1
# (the sanitizer build exercises the library through the unit tests).
check: deps
ifeq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory check-unit
else
	@$(MAKE) --no-print-directory $(SKIFF_BIN) $(MONITOR_BIN) $(UNIT_BINS)
	@$(MAKE) --no-print-directory -j1 -k check-unit check-e2e
endif

check-unit: $(UNIT_BINS) $(SKIFF_BIN) $(MONITOR_BIN)
	SK_SRCDIR=$(CURDIR) prove -f $(UNIT_BINS)

check-e2e: $(SKIFF_BIN) $(MONITOR_BIN)
	SKIFF=$(CURDIR)/$(SKIFF_BIN) SK_SRCDIR=$(CURDIR) prove -f $(sort $(wildcard tests/e2e/t-*.sh))

check-slow: deps $(SKIFF_BIN) $(MONITOR_BIN)
	SKIFF=$(CURDIR)/$(SKIFF_BIN) SK_SRCDIR=$(CURDIR) SK_SLOW=1 prove -f $(sort $(wildcard tests/e2e/slow-*.sh)) $(sort $(wildcard tests/bench/smoke-*.sh))

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh

install: $(SKIFF_BIN) $(MONITOR_BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(SKIFF_BIN) $(DESTDIR)$(BINDIR)/skiff
	install -m 0755 $(MONITOR_BIN) $(DESTDIR)$(BINDIR)/skiff-monitor

clean:
	rm -rf build build-san skiff skiff-monitor
