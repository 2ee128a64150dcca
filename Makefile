# ksm-vmshare: the module (through kbuild), the tools and the test programs.
#
#   make                 module against KDIR, tools, test programs
#   make module          the module only (KDIR=/path/to/kbuild/tree)
#   make unit            build and run the user-space unit tests
#   make test            everything: unit tests and the QEMU rig on the
#                        stock kernels (same as ./run-tests)
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Werror
# Test programs run inside the guest's initramfs, which has no libc.
STATIC := -static

WORKLOAD := test/workload/recipe.c
ORACLE := test/oracle/oracle_core.c

PROGRAMS := $(BUILD)/vmload $(BUILD)/ksm-oracle $(BUILD)/readas $(BUILD)/qmon \
	    $(BUILD)/timeit $(BUILD)/mergers
UNIT_TESTS := $(BUILD)/test_recipe $(BUILD)/test_oracle $(BUILD)/test_shadow \
	      $(BUILD)/test_victim

.PHONY: all module programs tools unit test bench clean

all: module tools programs

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

programs: $(PROGRAMS)

$(BUILD):
	mkdir -p $@

$(BUILD)/vmload: test/workload/vmload.c $(WORKLOAD) test/workload/recipe.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STATIC) -o $@ $< $(WORKLOAD)

$(BUILD)/readas: test/workload/readas.c | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STATIC) -o $@ $<

$(BUILD)/qmon: test/workload/qmon.c | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STATIC) -o $@ $<

$(BUILD)/mergers: test/workload/mergers.c | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STATIC) -o $@ $<

$(BUILD)/timeit: test/workload/timeit.c | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STATIC) -o $@ $<

$(BUILD)/ksm-oracle: test/oracle/ksm-oracle.c $(ORACLE) test/oracle/oracle_core.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STATIC) -o $@ $< $(ORACLE)

$(BUILD)/test_recipe: test/unit/test_recipe.c $(WORKLOAD) test/workload/recipe.h test/unit/unit.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) -Itest/workload -o $@ $< $(WORKLOAD)

$(BUILD)/test_oracle: test/unit/test_oracle.c $(ORACLE) test/oracle/oracle_core.h test/unit/unit.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) -Itest/oracle -o $@ $< $(ORACLE)

# The module's accounting core, compiled unchanged in user space.
$(BUILD)/test_shadow: test/unit/test_shadow.c module/shadow.c include/ksm_vmshare/shadow.h test/unit/unit.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) -Iinclude -o $@ $< module/shadow.c

# The CLI: static, so that the same binary runs in the test guest.
VICTIM_LIB := tools/vmshare_format.c tools/vmname.c tools/select.c tools/textsafe.c
VICTIM_SRCS := tools/ksm-victim.c $(VICTIM_LIB)
VICTIM_HDRS := tools/vmshare_format.h tools/vmname.h tools/select.h tools/textsafe.h

tools: tools/ksm-victim

tools/ksm-victim: $(VICTIM_SRCS) $(VICTIM_HDRS)
	$(CC) $(CFLAGS) $(WARNINGS) $(STATIC) -o $@ $(VICTIM_SRCS)

$(BUILD)/test_victim: test/unit/test_victim.c $(VICTIM_LIB) $(VICTIM_HDRS) test/unit/unit.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) -Itools -o $@ $< $(VICTIM_LIB)

unit: $(UNIT_TESTS)
	@status=0; for t in $(UNIT_TESTS); do $$t || status=1; done; exit $$status

test:
	./run-tests

# Benchmarks: costs measured side by side in one boot per kernel.
bench: programs tools
	test/rig/run.sh --no-unit -s bench
	@for f in $(BUILD)/results/*/bench/results.txt; do \
		echo "== $$(dirname $$(dirname $$f) | xargs basename)"; \
		sed -n 's/^SHOW //p' $$f; \
	done

clean:
	-[ -d "$(KDIR)" ] && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD) tools/ksm-victim
