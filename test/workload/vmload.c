// SPDX-License-Identifier: GPL-2.0
/*
 * vmload: acts as one VM of a recipe, or predicts what KSM makes of one.
 *
 *   vmload run RECIPE VM [ARG...]
 *                             map and fill VM's memory, mark it mergeable,
 *                             print "ready PID PAGES START-END"; each
 *                             SIGUSR1 then runs
 *                             VM's actions of the next phase and prints
 *                             "phase NAME done" (or "phase NAME exit");
 *                             SIGTERM ends it. ARGs are ignored: the
 *                             rig passes QEMU's "-name guest=VM" so that
 *                             ksm-victim names it as it would a QEMU VM.
 *   vmload expect RECIPE [PHASE]
 *                             the counts KSM must reach once quiesced, after
 *                             PHASE (default: before any phase); '?' where
 *                             the recipe does not determine them.
 *   vmload vms RECIPE [PHASE] the VMs running after PHASE (default: the
 *                             ones that run from the beginning)
 *   vmload blob RECIPE VM FILE
 *                             write VM's memory image to FILE, for a real
 *                             QEMU to load into guest RAM (-device loader)
 *   vmload check RECIPE       parse only.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "recipe.h"

static const char *prog = "vmload";

static void __attribute__((noreturn, format(printf, 2, 3)))
fatal(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s run RECIPE VM [ARG...]\n"
		"       %s expect RECIPE [PHASE]\n"
		"       %s vms RECIPE [PHASE]\n"
		"       %s blob RECIPE VM FILE\n"
		"       %s check RECIPE\n", prog, prog, prog, prog, prog);
	exit(2);
}

/*
 * The recipe, scaled down by KSMVS_RECIPE_SCALE (the debug kernel's
 * ksmvs.scale, exported by the scenarios' lib.sh): every subcommand reads
 * it the same way, so the VMs and the expectation agree.
 */
static void load(const char *path, struct recipe *r)
{
	const char *scale = getenv("KSMVS_RECIPE_SCALE");
	char err[256];

	if (recipe_parse_file(path, r, err, sizeof(err)))
		fatal(2, "%s: %s", path, err);
	if (scale && *scale)
		recipe_scale(r, strtoul(scale, NULL, 10));
}

static void print_count(long v)
{
	if (v == RECIPE_UNKNOWN)
		printf(" ?");
	else
		printf(" %ld", v);
}

static void expect_after(const struct recipe *r, const char *phase,
			 struct recipe_expect *e)
{
	int upto = -1;

	if (phase) {
		upto = recipe_phase_index(r, phase);
		if (upto < 0)
			fatal(2, "no phase '%s' in the recipe", phase);
	}
	if (recipe_expect(r, upto, RECIPE_MAX_PAGE_SHARING, e))
		fatal(1, "out of memory");
}

static int cmd_vms(const struct recipe *r, const char *phase)
{
	struct recipe_expect e;
	int v;

	expect_after(r, phase, &e);
	for (v = 0; v < r->n_vms; v++)
		if (e.vm[v].alive)
			printf("%s\n", r->vm_names[v]);
	return 0;
}

static int cmd_expect(const struct recipe *r, const char *phase)
{
	struct recipe_expect e;
	int v;

	expect_after(r, phase, &e);
	printf("# vmload expect - phase: %s\n", phase ? phase : "initial");
	printf("# ksm_pages:");
	print_count(e.ksm_pages);
	printf("\n# ksm_mappings: %ld\n", e.ksm_mappings);
	printf("# vm unique self_shared inter_shared ksm_mapped predicted_freed\n");
	for (v = 0; v < r->n_vms; v++) {
		if (!e.vm[v].alive)
			continue;
		printf("%s", r->vm_names[v]);
		print_count(e.vm[v].unique);
		print_count(e.vm[v].self_shared);
		print_count(e.vm[v].inter_shared);
		print_count(e.vm[v].ksm_mapped);
		print_count(e.vm[v].predicted_freed);
		putchar('\n');
	}
	return 0;
}

struct vm {
	const struct recipe *r;
	int index;
	unsigned char *mem;
	size_t page_size;
	unsigned long pages;
};

static void vm_fill(struct vm *vm)
{
	size_t len = vm->pages * vm->page_size;
	unsigned long i;

	if (!vm->pages)
		return;
	vm->mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->mem == MAP_FAILED)
		fatal(1, "mmap %zu bytes: %s", len, strerror(errno));
	/*
	 * Small pages, so that every page is present because it was written
	 * and the expectation holds exactly; THP would add zero-filled
	 * neighbours.
	 */
	if (madvise(vm->mem, len, MADV_NOHUGEPAGE))
		fatal(1, "madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	for (i = 0; i < vm->pages; i++)
		recipe_fill_page(vm->mem + i * vm->page_size, vm->page_size,
				 recipe_page_key(vm->r, vm->index, i));
	if (madvise(vm->mem, len, MADV_MERGEABLE))
		fatal(1, "madvise(MADV_MERGEABLE): %s", strerror(errno));
}

/* Runs VM's own actions of phase p; returns 1 if the VM is to exit. */
static int vm_run_phase(struct vm *vm, int p)
{
	const struct recipe *r = vm->r;
	const struct recipe_phase *ph = &r->phases[p];
	int i;

	for (i = 0; i < ph->n_actions; i++) {
		const struct recipe_action *a = &r->actions[ph->first_action + i];
		unsigned long off, n, j;

		if (a->vm != vm->index || a->kind == ACTION_START)
			continue;
		if (a->kind == ACTION_EXIT)
			return 1;
		off = recipe_group_offset(r, a->group, a->vm);
		if (a->kind == ACTION_WRITE) {
			for (j = off; j < off + a->pages; j++)
				recipe_fill_page(vm->mem + j * vm->page_size,
						 vm->page_size,
						 recipe_written_key(a->vm, j, p));
			continue;
		}
		n = recipe_group_pages(r, a->group, a->vm);
		if (madvise(vm->mem + off * vm->page_size, n * vm->page_size,
			    MADV_UNMERGEABLE))
			fatal(1, "madvise(MADV_UNMERGEABLE): %s", strerror(errno));
	}
	return 0;
}

static int cmd_blob(const struct recipe *r, const char *name,
		    const char *path)
{
	size_t page_size = sysconf(_SC_PAGESIZE);
	unsigned char *page = malloc(page_size);
	unsigned long i, pages;
	FILE *f;
	int v = recipe_vm_index(r, name);

	if (v < 0)
		fatal(2, "no VM '%s' in the recipe", name);
	if (!page)
		fatal(1, "out of memory");
	f = fopen(path, "w");
	if (!f)
		fatal(1, "%s: %s", path, strerror(errno));
	pages = recipe_vm_pages(r, v);
	for (i = 0; i < pages; i++) {
		recipe_fill_page(page, page_size, recipe_page_key(r, v, i));
		if (fwrite(page, page_size, 1, f) != 1)
			fatal(1, "%s: %s", path, strerror(errno));
	}
	if (fclose(f))
		fatal(1, "%s: %s", path, strerror(errno));
	free(page);
	return 0;
}

static int cmd_run(const struct recipe *r, const char *name)
{
	struct vm vm = { .r = r };
	sigset_t set;
	int sig, p;

	vm.index = recipe_vm_index(r, name);
	if (vm.index < 0)
		fatal(2, "no VM '%s' in the recipe", name);
	/* a VM that starts in a phase takes part in the phases after it */
	p = recipe_start_phase(r, vm.index) + 1;
	vm.page_size = sysconf(_SC_PAGESIZE);
	vm.pages = recipe_vm_pages(r, vm.index);

	/* Block the signals first: one sent right after "ready" must wait. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fatal(1, "sigprocmask: %s", strerror(errno));

	vm_fill(&vm);
	printf("ready %d %lu %lx-%lx\n", (int)getpid(), vm.pages,
	       (unsigned long)vm.mem,
	       (unsigned long)vm.mem + vm.pages * vm.page_size);
	fflush(stdout);
	for (;;) {
		if (sigwait(&set, &sig))
			fatal(1, "sigwait failed");
		if (sig != SIGUSR1)
			return 0;
		if (p == r->n_phases) {
			fprintf(stderr, "%s: %s: no phase left\n", prog, name);
			continue;
		}
		if (vm_run_phase(&vm, p)) {
			printf("phase %s exit\n", r->phases[p].name);
			fflush(stdout);
			return 0;
		}
		printf("phase %s done\n", r->phases[p].name);
		fflush(stdout);
		p++;
	}
}

int main(int argc, char **argv)
{
	static struct recipe r;

	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "run") && argc >= 4) {
		load(argv[2], &r);
		return cmd_run(&r, argv[3]);
	}
	if (!strcmp(argv[1], "expect") && argc <= 4) {
		load(argv[2], &r);
		return cmd_expect(&r, argc == 4 ? argv[3] : NULL);
	}
	if (!strcmp(argv[1], "vms") && argc <= 4) {
		load(argv[2], &r);
		return cmd_vms(&r, argc == 4 ? argv[3] : NULL);
	}
	if (!strcmp(argv[1], "blob") && argc == 5) {
		load(argv[2], &r);
		return cmd_blob(&r, argv[3], argv[4]);
	}
	if (!strcmp(argv[1], "check") && argc == 3) {
		load(argv[2], &r);
		return 0;
	}
	usage();
}
