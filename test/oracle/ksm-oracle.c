// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-oracle: ground truth for per-VM KSM sharing, from page tables.
 *
 * Reads /proc/PID/smaps and /proc/PID/pagemap of each VM for its present
 * anonymous pages, and /proc/kpageflags and /proc/kpagecount for their
 * physical pages, then prints the columns of /proc/ksm_vmshare
 * (../shared/docs/interface.md) and, for each --evict set, the physical
 * pages that evicting the whole set frees. It costs O(pages): it is the
 * reference the module is checked against, not a replacement for it.
 *
 * KSM pages are told apart in one of two ways:
 *   kpageflags  the KPF_KSM bit (right on 6.1; Debian's 6.12 sets it on
 *               every anonymous page);
 *   smaps       a map count of 2 or more (anonymous pages are shared only
 *               through KSM or fork, and VMs do not fork), plus per VMA the
 *               kernel's own "KSM:" total (6.6+) to find KSM pages mapped
 *               only once.
 * The default picks smaps wherever the kernel reports "KSM:".
 *
 * It cannot see swapped-out pages (counted in the header) and does not
 * count file-backed or shared-memory pages.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle_core.h"

/* Documentation/admin-guide/mm/pagemap.rst */
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_FILE		(1ULL << 61)
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)
#define KPF_ANON	12
#define KPF_KSM		21
#define KPF_ZERO_PAGE	24

#define MAX_VMS		4096	/* the module's table (SHADOW_MAX_VMS) */
#define MAX_EVICT	64
#define PFN_BATCH	512

static const char *prog = "ksm-oracle";

static void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

enum method { METHOD_AUTO, METHOD_KPAGEFLAGS, METHOD_SMAPS };

struct vma {
	unsigned long start, end;
	long rss_kb;
	long ksm_kb;		/* -1: the kernel has no "KSM:" field */
	int mergeable;
};

struct vm {
	int pid;
	unsigned long lo, hi;	/* only pages in [lo, hi) count */
	char comm[64];
	struct vma *vmas;
	size_t n_vmas;
	struct oracle_vm_counts counts;
	long single_ksm;	/* KSM pages it maps once (smaps method) */
};

static struct {
	int mergeable_only;
	enum method method;
	long page_size;
	struct vm vms[MAX_VMS];
	int n_vms;
	struct oracle_page *pages;
	size_t n_pages, cap_pages;
	long swapped, file_pages;
	char *evict[MAX_EVICT];
	int n_evict;
	int sets;
} g;

static void add_page(uint32_t vm, uint32_t area, uint64_t pfn)
{
	if (g.n_pages == g.cap_pages) {
		g.cap_pages = g.cap_pages ? 2 * g.cap_pages : 65536;
		g.pages = realloc(g.pages, g.cap_pages * sizeof(*g.pages));
		if (!g.pages)
			fatal("out of memory for %zu pages", g.cap_pages);
	}
	g.pages[g.n_pages].pfn = pfn;
	g.pages[g.n_pages].vm = vm;
	g.pages[g.n_pages].area = area;
	g.n_pages++;
}

/* Returns 0, or -1 if the process is gone. */
static int read_smaps(struct vm *vm)
{
	char path[64], line[512];
	struct vma *cur = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", vm->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		long kb;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (vm->n_vmas == cap) {
				cap = cap ? 2 * cap : 64;
				vm->vmas = realloc(vm->vmas,
						   cap * sizeof(*vm->vmas));
				if (!vm->vmas)
					fatal("out of memory");
			}
			cur = &vm->vmas[vm->n_vmas++];
			memset(cur, 0, sizeof(*cur));
			cur->start = start;
			cur->end = end;
			cur->ksm_kb = -1;
		} else if (!cur) {
			continue;
		} else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
			cur->rss_kb = kb;
		} else if (sscanf(line, "KSM: %ld kB", &kb) == 1) {
			cur->ksm_kb = kb;
		} else if (!strncmp(line, "VmFlags:", 8)) {
			cur->mergeable = strstr(line, " mg") != NULL;
		}
	}
	fclose(f);
	return 0;
}

static int has_mergeable_vma(const struct vm *vm)
{
	size_t i;

	for (i = 0; i < vm->n_vmas; i++)
		if (vm->vmas[i].mergeable)
			return 1;
	return 0;
}

static int add_vm(int pid, unsigned long lo, unsigned long hi)
{
	struct vm *vm;
	char path[64];
	FILE *f;

	if (g.n_vms == MAX_VMS)
		fatal("more than %d VMs", MAX_VMS);
	vm = &g.vms[g.n_vms];
	memset(vm, 0, sizeof(*vm));
	vm->pid = pid;
	vm->lo = lo;
	vm->hi = hi;
	if (read_smaps(vm))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(vm->comm, sizeof(vm->comm), f))
			vm->comm[strcspn(vm->comm, "\n")] = '\0';
		fclose(f);
	}
	g.n_vms++;
	return 0;
}

/* Every process with a mergeable VMA: what KSM may share pages with. */
static void discover(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		fatal("/proc: %s", strerror(errno));
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (add_vm(atoi(de->d_name), 0, ULONG_MAX))
			continue;
		if (!has_mergeable_vma(&g.vms[g.n_vms - 1])) {
			free(g.vms[g.n_vms - 1].vmas);
			g.n_vms--;
		}
	}
	closedir(d);
}

static int vma_in_scope(const struct vm *vm, const struct vma *v)
{
	return v->rss_kb > 0 && (!g.mergeable_only || v->mergeable) &&
	       v->start < vm->hi && v->end > vm->lo;
}

static void read_pagemap(int index)
{
	struct vm *vm = &g.vms[index];
	uint64_t buf[PFN_BATCH];
	char path[64];
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", vm->pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fatal("%s: %s", path, strerror(errno));
	for (i = 0; i < vm->n_vmas; i++) {
		const struct vma *v = &vm->vmas[i];
		unsigned long vpn = (v->start > vm->lo ? v->start : vm->lo) /
				    g.page_size;
		unsigned long last = (v->end < vm->hi ? v->end : vm->hi) /
				     g.page_size;

		if (!vma_in_scope(vm, v))
			continue;
		while (vpn < last) {
			size_t n = last - vpn < PFN_BATCH ? last - vpn : PFN_BATCH;
			ssize_t got = pread(fd, buf, n * 8, vpn * 8);
			size_t k;

			if (got <= 0)
				fatal("%s: %s", path, got ? strerror(errno) :
				      "short read");
			n = got / 8;
			for (k = 0; k < n; k++) {
				uint64_t e = buf[k];

				if (e & PM_SWAP)
					g.swapped++;
				if (!(e & PM_PRESENT))
					continue;
				if (e & PM_FILE) {
					g.file_pages++;
					continue;
				}
				if (!(e & PM_PFN_MASK))
					fatal("%s shows no page frames: run as root",
					      path);
				add_page(index, i, e & PM_PFN_MASK);
			}
			vpn += n;
		}
	}
	close(fd);
}

struct pfn_reader {
	int fd;
	const char *path;
	uint64_t base;
	size_t n;
	uint64_t buf[PFN_BATCH];
};

/* Reads a window at a time: a VM's pages cluster in physical memory. */
static uint64_t pfn_read(struct pfn_reader *r, uint64_t pfn)
{
	ssize_t got;

	if (pfn < r->base || pfn >= r->base + r->n) {
		got = pread(r->fd, r->buf, sizeof(r->buf), pfn * 8);
		if (got < 8)
			fatal("%s: %s", r->path,
			      got < 0 ? strerror(errno) : "short read");
		r->base = pfn;
		r->n = got / 8;
	}
	return r->buf[pfn - r->base];
}

static void pfn_open(struct pfn_reader *r, const char *path)
{
	r->path = path;
	r->n = 0;
	r->fd = open(path, O_RDONLY);
	if (r->fd < 0)
		fatal("%s: %s", path, strerror(errno));
}

static int by_pfn_only(const void *a, const void *b)
{
	const struct oracle_page *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/*
 * smaps method: a page mapped twice or more is a KSM page only in a VMA
 * that holds KSM pages at all ("KSM:" above 0); elsewhere it is shared by
 * fork (copy-on-write), as a forked child's stack and heap are. A VMA
 * holding both (a child forked before its parent's pages merged) is not
 * told apart: the scenarios fork only after merging.
 */
static int in_ksm_vma(const struct oracle_page *p)
{
	return g.vms[p->vm].vmas[p->area].ksm_kb > 0;
}

/* Fill in map counts and KSM flags; drop zero pages and non-anonymous. */
static void classify(void)
{
	struct pfn_reader flags, counts;
	size_t i, out = 0;

	pfn_open(&flags, "/proc/kpageflags");
	pfn_open(&counts, "/proc/kpagecount");
	qsort(g.pages, g.n_pages, sizeof(*g.pages), by_pfn_only);
	for (i = 0; i < g.n_pages; i++) {
		struct oracle_page *p = &g.pages[i];
		uint64_t f = pfn_read(&flags, p->pfn);

		if (!(f & (1ULL << KPF_ANON)) || (f & (1ULL << KPF_ZERO_PAGE)))
			continue;
		p->mapcount = pfn_read(&counts, p->pfn);
		if (g.method == METHOD_KPAGEFLAGS)
			p->ksm = !!(f & (1ULL << KPF_KSM));
		else
			p->ksm = p->mapcount >= 2 && in_ksm_vma(p);
		g.pages[out++] = *p;
	}
	g.n_pages = out;
	close(flags.fd);
	close(counts.fd);
}

static enum method pick_method(void)
{
	int v;
	size_t i;

	for (v = 0; v < g.n_vms; v++)
		for (i = 0; i < g.vms[v].n_vmas; i++)
			if (g.vms[v].vmas[i].ksm_kb < 0)
				return METHOD_KPAGEFLAGS;
	return g.n_vms ? METHOD_SMAPS : METHOD_KPAGEFLAGS;
}

/*
 * smaps method: KSM pages mapped only once have a map count of 1, like
 * private pages. The kernel's per-VMA "KSM:" total counts them too, so the
 * difference to the pages found with a count of 2 or more is theirs.
 */
static void add_single_ksm(struct oracle_result *res, long *negative)
{
	int v;
	size_t i;

	for (v = 0; v < g.n_vms; v++) {
		struct vm *vm = &g.vms[v];
		long *seen = calloc(vm->n_vmas ? vm->n_vmas : 1, sizeof(*seen));

		if (!seen)
			fatal("out of memory");
		for (i = 0; i < g.n_pages; i++)
			if (g.pages[i].vm == (uint32_t)v && g.pages[i].ksm)
				seen[g.pages[i].area]++;
		for (i = 0; i < vm->n_vmas; i++) {
			const struct vma *a = &vm->vmas[i];
			long single;

			if (!vma_in_scope(vm, a))
				continue;
			single = a->ksm_kb * 1024 / g.page_size - seen[i];
			/* the kernel's total is per VMA: a cut one is unknown */
			if (single < 0 || (single > 0 && (a->start < vm->lo ||
							  a->end > vm->hi)))
				(*negative)++;
			else {
				oracle_add_single_ksm(res, &vm->counts, single);
				vm->single_ksm += single;
			}
		}
		free(seen);
	}
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: %s [options] [PID[:START-END]...]\n"
		"  -m, --mergeable-only   count only mergeable VMAs (default: all anonymous memory)\n"
		"  -e, --evict PID[,PID]  also print the pages evicting this set frees (repeatable)\n"
		"  -s, --sets             also print the KSM pages of each exact set of VMs\n"
		"      --method M         how to tell KSM pages: auto, kpageflags, smaps\n"
		"  -h, --help\n"
		"START-END (hex) limits a VM to that address range.\n"
		"Without PIDs: every process with a mergeable VMA.\n", prog);
	exit(status);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mergeable-only", no_argument, NULL, 'm' },
		{ "evict", required_argument, NULL, 'e' },
		{ "sets", no_argument, NULL, 's' },
		{ "method", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "me:sh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			g.sets = 1;
			break;
		case 'm':
			g.mergeable_only = 1;
			break;
		case 'e':
			if (g.n_evict == MAX_EVICT)
				fatal("more than %d --evict sets", MAX_EVICT);
			g.evict[g.n_evict++] = optarg;
			break;
		case 'M':
			if (!strcmp(optarg, "auto"))
				g.method = METHOD_AUTO;
			else if (!strcmp(optarg, "kpageflags"))
				g.method = METHOD_KPAGEFLAGS;
			else if (!strcmp(optarg, "smaps"))
				g.method = METHOD_SMAPS;
			else
				usage(2);
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
}

/* "PID,PID,..." into a per-VM flag array; every PID must be a scanned VM. */
static void parse_evict_set(const char *spec, unsigned char *evicted)
{
	char *copy = strdup(spec), *t, *save = NULL;
	int v;

	if (!copy)
		fatal("out of memory");
	memset(evicted, 0, MAX_VMS);
	for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long pid = strtol(t, &end, 10);

		for (v = 0; v < g.n_vms; v++)
			if (*end == '\0' && g.vms[v].pid == pid)
				break;
		if (v == g.n_vms)
			fatal("--evict %s: %s is not one of the VMs", spec, t);
		evicted[v] = 1;
	}
	free(copy);
}

/*
 * One line of the sets: "# set: PAGES PID,PID" ("*" for pages also
 * mapped outside the table). A VM's KSM pages mapped once, which the
 * smaps method counts but cannot place, are its own set's.
 */
static void print_set(const uint32_t *members, int n, long pages, void *ctx)
{
	int i;

	(void)ctx;
	if (n < 0) {
		printf("# set: %ld *\n", pages);
		return;
	}
	if (n == 1) {
		pages += g.vms[members[0]].single_ksm;
		g.vms[members[0]].single_ksm = 0;
	}
	printf("# set: %ld ", pages);
	for (i = 0; i < n; i++)
		printf(i ? ",%d" : "%d", g.vms[members[i]].pid);
	printf("\n");
}

static void print_table(const struct oracle_result *res, long negative)
{
	static const char *const method_names[] = {
		[METHOD_KPAGEFLAGS] = "kpageflags", [METHOD_SMAPS] = "smaps",
	};
	unsigned char evicted[MAX_VMS];
	int v, i;

	printf("ksm-oracle - version: 1\n");
	printf("# scope: %s\n", g.mergeable_only ? "mergeable" : "anonymous");
	printf("# method: %s\n", method_names[g.method]);
	printf("# ksm_pages: %ld\n", res->ksm_pages);
	printf("# ksm_mappings: %ld\n", res->ksm_mappings);
	printf("# swapped: %ld\n", g.swapped);
	printf("# file_pages: %ld\n", g.file_pages);
	printf("# inconsistent: %ld\n", res->inconsistent + negative);
	for (i = 0; i < g.n_evict; i++) {
		parse_evict_set(g.evict[i], evicted);
		printf("# freed_by_evicting: %s %ld\n", g.evict[i],
		       oracle_freed(g.pages, g.n_pages, evicted));
	}
	if (g.sets) {
		if (oracle_sets(g.pages, g.n_pages, print_set, NULL))
			fatal("out of memory");
		/* VMs whose only KSM pages are mapped once */
		for (v = 0; v < g.n_vms; v++)
			if (g.vms[v].single_ksm)
				printf("# set: %ld %d\n", g.vms[v].single_ksm,
				       g.vms[v].pid);
	}
	printf("# pid unique self_shared inter_shared ksm_mapped predicted_freed uss comm\n");
	for (v = 0; v < g.n_vms; v++) {
		const struct oracle_vm_counts *c = &g.vms[v].counts;

		printf("%d %ld %ld %ld %ld %ld %ld %s\n", g.vms[v].pid,
		       c->unique, c->self_shared, c->inter_shared,
		       c->ksm_mapped, c->predicted_freed, c->uss,
		       g.vms[v].comm);
	}
}

/* "PID" or "PID:START-END" (hex addresses, as in /proc/PID/maps) */
static void add_vm_arg(const char *arg)
{
	unsigned long lo = 0, hi = ULONG_MAX;
	char *end;
	long pid = strtol(arg, &end, 10);

	if (pid <= 0 || (*end && *end != ':'))
		fatal("'%s' is not PID or PID:START-END", arg);
	if (*end == ':') {
		lo = strtoul(end + 1, &end, 16);
		if (*end != '-')
			fatal("'%s' is not PID or PID:START-END", arg);
		hi = strtoul(end + 1, &end, 16);
		if (*end || hi < lo)
			fatal("'%s' is not PID or PID:START-END", arg);
	}
	if (add_vm(pid, lo, hi))
		fatal("no process %ld", pid);
}

static int by_pid(const void *a, const void *b)
{
	return ((const struct vm *)a)->pid - ((const struct vm *)b)->pid;
}

int main(int argc, char **argv)
{
	struct oracle_vm_counts counts[MAX_VMS];
	struct oracle_result res;
	long negative = 0;
	int v, i;

	g.page_size = sysconf(_SC_PAGESIZE);
	parse_args(argc, argv);
	if (optind == argc) {
		discover();
	} else {
		for (i = optind; i < argc; i++)
			add_vm_arg(argv[i]);
	}
	qsort(g.vms, g.n_vms, sizeof(*g.vms), by_pid);
	if (g.method == METHOD_AUTO)
		g.method = pick_method();
	for (v = 0; v < g.n_vms; v++)
		read_pagemap(v);
	classify();
	oracle_count(g.pages, g.n_pages, g.n_vms, &res, counts);
	for (v = 0; v < g.n_vms; v++)
		g.vms[v].counts = counts[v];
	if (g.method == METHOD_SMAPS)
		add_single_ksm(&res, &negative);
	print_table(&res, negative);
	return 0;
}
