# ovgossipd: one GNU Makefile. `make` builds, `make check` runs every test.
# Sources are found by wildcard so modules can be added without editing this file:
#   proto/*.c gossip/*.c overlay/*.c -> libovg.a; daemon/*.c -> ovgossipd
#   tests/unit/test_*.c              -> one Check binary each
#   tests/fuzz/fuzz_*.c              -> one libFuzzer binary each (clang)
#   tests/netns/test_*.sh            -> root-only namespace tests, run after unit tests
#   bench/bench_*.c                  -> micro-benchmarks (make bench)

CC       ?= cc
BUILD    ?= $(if $(SANITIZER),build-san,build)
VERSION  := 0.1.0


DEPS_PKGS := libsodium-dev libmsgpack-dev libev-dev libnl-3-dev libnl-route-3-dev \
             libjansson-dev check pkg-config clang serf jq tcpdump iptables iproute2 \
             procps psmisc util-linux iputils-ping gnuplot-nox python3
PKGS     := libnl-route-3.0 libsodium msgpack jansson

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers -Wno-format-truncation
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -MMD -MP -Iinclude -I. -D_GNU_SOURCE -DOVG_VERSION='"$(VERSION)"'
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   += $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lev -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

ifneq ($(SANITIZER),)
CFLAGS  += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZER)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC   := $(wildcard proto/*.c gossip/*.c overlay/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
DAEMON_SRC:= $(wildcard daemon/*.c)
DAEMON_OBJ:= $(DAEMON_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELP := $(wildcard tests/unit/helper_*.c)
TEST_HOBJ := $(TEST_HELP:%.c=$(BUILD)/%.o)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
SIM_SRC   := $(wildcard simulations/*.c)
SIM_BIN   := $(SIM_SRC:simulations/%.c=$(BUILD)/sim/%)
# everything under daemon/ but main() is linkable into tests too
DAEMON_LIB_OBJ := $(filter-out $(BUILD)/daemon/main.o,$(DAEMON_OBJ))

.PHONY: FORCE all all-tests deps check unit fuzz-smoke sim-check netns fuzz bench demo soak clean install
all: ovgossipd

# ./ovgossipd is whichever build was made last (plain or SANITIZER=...)
ovgossipd: $(BUILD)/ovgossipd FORCE
	$(Q)cmp -s $< $@ || cp $< $@
FORCE:

$(BUILD)/libovg.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/ovgossipd: $(DAEMON_OBJ) $(BUILD)/libovg.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJ) $(BUILD)/libovg.a $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_HOBJ) $(DAEMON_LIB_OBJ) $(BUILD)/libovg.a
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(TEST_HOBJ) $(DAEMON_LIB_OBJ) $(BUILD)/libovg.a $(LDLIBS) $(CHECK_LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libovg.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libovg.a $(LDLIBS)

$(BUILD)/sim/%: $(BUILD)/simulations/%.o $(BUILD)/libovg.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libovg.a $(LDLIBS)

# Fuzzers: the library rebuilt with clang, libFuzzer, ASan and UBSan.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Iinclude -I. -I. -D_GNU_SOURCE $(PKG_CFLAGS) -DOVG_VERSION='"$(VERSION)"' \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o)
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CLANG   $<")
	$(Q)clang $(FUZZ_CFLAGS) -c -o $@ $<
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(PKG_LIBS) -lm

# ---- dependencies -------------------------------------------------------------
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "  DEPS    installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ---- tests --------------------------------------------------------------------
FUZZ_SECONDS ?= 4
check: deps
	$(Q)$(MAKE) --no-print-directory all-tests
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory sim-check
	$(Q)$(MAKE) --no-print-directory netns

all-tests: ovgossipd $(TEST_BIN) $(FUZZ_BIN) $(SIM_BIN)

unit: $(TEST_BIN)
	$(Q)pass=0; fail=0; for t in $(TEST_BIN); do \
	  if CK_VERBOSITY=normal $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; echo "unit: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

fuzz-smoke: $(FUZZ_BIN)
	$(Q)for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  corpus=tests/fuzz/corpus/$${n#fuzz_}; mkdir -p $(BUILD)/fuzz-work/$$n; \
	  seeds=""; [ -d $$corpus ] && seeds=$$corpus; \
	  echo "  FUZZ    $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 $(BUILD)/fuzz-work/$$n $$seeds >$(BUILD)/fuzz-work/$$n.log 2>&1 \
	    || { tail -n 40 $(BUILD)/fuzz-work/$$n.log; exit 1; }; \
	done

netns: ovgossipd
	$(Q)if [ "$$(id -u)" != 0 ]; then echo "netns tests need root: skipped"; exit 0; fi; \
	pass=0; fail=0; for t in $(wildcard tests/netns/test_*.sh); do \
	  echo "  NETNS   $$t"; t0=$$(date +%s); \
	  if OVGOSSIPD=$(CURDIR)/ovgossipd bash $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	  echo "  NETNS   $$t took $$(( $$(date +%s) - t0 )) s"; \
	done; echo "netns: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# simulator runs with fixed seeds (tests/sim/test_*.sh, given $SIMDIR)
sim-check: $(SIM_BIN)
	$(Q)pass=0; fail=0; for t in $(wildcard tests/sim/test_*.sh); do \
	  echo "  SIM     $$t"; \
	  if SIMDIR=$(CURDIR)/$(BUILD)/sim bash $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; echo "sim: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

fuzz: $(FUZZ_BIN)
	$(Q)for f in $(FUZZ_BIN); do n=$$(basename $$f); corpus=tests/fuzz/corpus/$${n#fuzz_}; \
	  mkdir -p $(BUILD)/fuzz-work/$$n; seeds=""; [ -d $$corpus ] && seeds=$$corpus; \
	  $$f -max_total_time=$${FUZZ_LONG_SECONDS:-300} $(BUILD)/fuzz-work/$$n $$seeds || exit 1; done

bench: deps ovgossipd $(BENCH_BIN)
	$(Q)for b in $(BENCH_BIN); do $$b || exit 1; done
	$(Q)for b in $(wildcard bench/bench_*.sh); do OVGOSSIPD=$(CURDIR)/ovgossipd bash $$b || exit 1; done

demo: deps ovgossipd
	$(Q)bash simulations/demo.sh

soak: deps all-tests
	$(Q)for s in $(wildcard tests/soak/*.sh); do bash $$s || exit 1; done

install: ovgossipd
	install -D -m 0755 ovgossipd $(DESTDIR)/usr/local/sbin/ovgossipd

clean:
	rm -rf $(BUILD) ovgossipd

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
