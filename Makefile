# ksm-vmshare: the module (through kbuild), the tools and the test programs.
#
#   make                 module against KDIR, tools, test programs
#   make module          the module only (KDIR=/path/to/kbuild/tree)
#   make unit            build and run the user-space unit tests
#   make test            everything: unit tests and the QEMU rig on the
#                        stock kernels (same as ./run-tests)
#   make install         ksm-victim, its man page, modules-load.d and the
#                        exporter's systemd units (DESTDIR, PREFIX)
#   make install-dkms    the module's source and dkms.conf under /usr/src
#   make uninstall       undo both
#   make deb             ksm-vmshare-dkms and ksm-vmshare-tools in build/deb/
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
	    $(BUILD)/timeit $(BUILD)/mergers $(BUILD)/softoffline
UNIT_TESTS := $(BUILD)/test_recipe $(BUILD)/test_oracle $(BUILD)/test_shadow \
	      $(BUILD)/test_victim

.PHONY: all module programs tools unit test bench clean install install-tools \
	install-modules-load install-dkms uninstall deb

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

$(BUILD)/softoffline: test/workload/softoffline.c | $(BUILD)
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

# Benchmarks: costs measured side by side in one boot per kernel, under
# -icount with one vCPU: the guest clock counts instructions, so the
# figures repeat from run to run whatever the host is doing.
bench: programs tools
	KSMVS_ICOUNT=1 KSMVS_SMP=1 test/rig/run.sh -k "6.1 6.12" --no-unit -s bench
	@for f in $(BUILD)/results/*/bench/results.txt; do \
		echo "== $$(dirname $$(dirname $$f) | xargs basename)"; \
		sed -n 's/^SHOW //p' $$f; \
	done
	test/rig/plot-bench.sh $(BUILD)/bench $(BUILD)/results/*/bench/results.txt

# --- installation -------------------------------------------------------
# One version for DKMS and the packages: debian/changelog's.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# systemd reads both from /usr/local/lib and /usr/lib (modules-load.d(5),
# systemd.unit(5)); Debian's packages put units in /lib/systemd/system.
UNITDIR ?= $(PREFIX)/lib/systemd/system
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
# node_exporter's textfile directory on Debian (prometheus-node-exporter)
TEXTFILEDIR ?= /var/lib/prometheus/node-exporter
DKMSDIR ?= /usr/src/ksm-vmshare-$(VERSION)
UNITS := ksm-vmshare-exporter.service ksm-vmshare-exporter.timer
# what the DKMS tree needs to build the module: the top Makefile's
# "module" target and the kbuild objects it names; not the rig's planted
# bugs (module/planted.c), which a user's host never gets
DKMS_SOURCES := Kbuild Makefile \
	$(filter-out module/planted.c,$(wildcard module/*.[ch] include/ksm_vmshare/*.h))

install: install-tools install-modules-load

install-tools: tools/ksm-victim
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 0755 tools/ksm-victim $(DESTDIR)$(SBINDIR)/ksm-victim
	install -m 0644 tools/ksm-victim.8 $(DESTDIR)$(MANDIR)/man8/ksm-victim.8
	for unit in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@TEXTFILEDIR@|$(TEXTFILEDIR)|g' \
			contrib/systemd/$$unit.in >$(DESTDIR)$(UNITDIR)/$$unit && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit || exit 1; \
	done

# load the module at boot, before any VM starts
install-modules-load:
	install -d $(DESTDIR)$(MODULESLOADDIR)
	install -m 0644 contrib/modules-load.d/ksm-vmshare.conf \
		$(DESTDIR)$(MODULESLOADDIR)/ksm-vmshare.conf

# then: dkms install ksm-vmshare/$(VERSION)
install-dkms:
	install -d $(DESTDIR)$(DKMSDIR)
	tar -cf - $(DKMS_SOURCES) | tar -xf - -C $(DESTDIR)$(DKMSDIR)
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf.in >$(DESTDIR)$(DKMSDIR)/dkms.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ksm-victim $(DESTDIR)$(MANDIR)/man8/ksm-victim.8 \
		$(DESTDIR)$(MODULESLOADDIR)/ksm-vmshare.conf \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	rm -rf $(DESTDIR)$(DKMSDIR)

# Debian packages, built from a copy of the tree (dpkg-buildpackage writes
# its results next to the source directory): build/deb/*.deb
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/ksm-vmshare-$(VERSION)
	{ git ls-files -co --exclude-standard 2>/dev/null || \
		find . -path ./$(BUILD) -prune -o -path ./.git -prune -o -type f -print; } | \
		grep -v '^\./$(BUILD)/\|^$(BUILD)/' | \
		tar -cf - -T - | tar -xf - -C $(BUILD)/deb/ksm-vmshare-$(VERSION)
	cd $(BUILD)/deb/ksm-vmshare-$(VERSION) && dpkg-buildpackage -us -uc
	ls $(BUILD)/deb/*.deb

clean:
	-[ -d "$(KDIR)" ] && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD) tools/ksm-victim
