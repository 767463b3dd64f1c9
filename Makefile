# khyve build: plain GNU make, sources found by globbing so adding a file
# needs no edit here.  Two flavours share one rule set:
#   build/        optimised (-O2 -g), what users run
#   build/asan/   ASan+UBSan, what `make check` tests
# Programs live in src/<prog>/main.c (+ other files in that dir); everything
# else under src/ goes into libkhyve-core.a, linked into every program/test.

CC      ?= cc
ifeq ($(origin CC),default)
CC      := cc
endif
O       ?= build
PROGRAMS := khyve khyvectl khyvesh
DEPS_PKGS := libmd
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-unused-parameter
XML_CFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -Isrc $(XML_CFLAGS) $(NL_CFLAGS) $(WARN) -fno-strict-aliasing -pthread
LDLIBS  := -luring -lseccomp -lmd -ljson-c -lxml2 -lnl-route-3 -lnl-3 -pthread

ifeq ($(SAN),1)
CFLAGS_MODE := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_MODE := -fsanitize=address,undefined
else
CFLAGS_MODE := -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDFLAGS_MODE :=
endif

CFLAGS  ?=
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS_MODE) $(CFLAGS)

PROG_SRCS := $(foreach p,$(PROGRAMS),$(wildcard src/$(p)/*.c))
LIB_SRCS  := $(filter-out $(PROG_SRCS),$(shell find src -name '*.c' | sort))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

LIB     := $(O)/libkhyve-core.a
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
BINS    := $(PROGRAMS:%=$(O)/%)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)

.PHONY: all check unit guests demo clean fuzz fuzz-smoke bench l1-check kvm-check asan
all: $(BINS)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

define prog_rule
$(O)/$(1): $(patsubst %.c,$(O)/obj/%.o,$(wildcard src/$(1)/*.c)) $(LIB)
	$$(CC) $$(LDFLAGS_MODE) -o $$@ $$(filter %.o,$$^) $(LIB) $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call prog_rule,$(p))))

$(O)/tests/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -MMD -MP -o $@ $< $(UNIT_HELPERS) $(LIB) -lcmocka $(LDLIBS) $(LDFLAGS_MODE)

unit: $(UNIT_BINS)

# The sanitizer flavour used by the tests.
asan:
	$(MAKE) O=build/asan SAN=1 all unit

guests:
	$(MAKE) -C guest O=$(abspath build/guest)

# Installs missing packages, builds, fetches the guest kernel, boots a VM.
# Packages come first: a fresh machine cannot compile without them.
demo:
	scripts/deps.sh build
	$(MAKE) all guests
	tests/l1/demo.sh

# Installs what the tests need first, like demo, so it works on a fresh machine.
check:
	scripts/deps.sh test
	$(MAKE) asan guests
	tests/run-all.sh

kvm-check: asan guests
	tests/run-all.sh kvm

l1-check: asan
	tests/run-all.sh l1

fuzz:
	tests/fuzz/run-smoke.sh

bench: all
	bench/boot/run.sh

clean:
	rm -rf build

-include $(shell find $(O)/obj $(O)/tests -name '*.d' 2>/dev/null)
