// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-victim: which VM to live-migrate away to get memory back.
 *
 * Reads /proc/ksm_vmshare (or a saved copy), names each VM after QEMU's
 * -name, and prints, most freed first, what evicting each one would free
 * and what migrating it would move; last, the victim. --need SIZE picks
 * the cheapest set of VMs that frees at least SIZE. See ksm-victim.8.
 *
 * Exit status: 0 a victim (or set) was printed; 1 no VM qualifies;
 * 2 usage error; 3 the module is not loaded or its file is unreadable.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "select.h"
#include "vmname.h"
#include "vmshare_format.h"

#define DEFAULT_PROC	"/proc/ksm_vmshare"
#define EXIT_NO_VM	1
#define EXIT_USAGE	2
#define EXIT_NO_MODULE	3

static const char *prog = "ksm-victim";

static struct {
	const char *proc;
	const char *pid_root;
	int all;
	int pages;
	int json;
	long long need;		/* bytes, or pages with --pages; 0: none */
	unsigned int watch;	/* seconds; 0: once */
	long count;		/* iterations of --watch; 0: until killed */
	long page_size;
} opt = {
	.proc = DEFAULT_PROC,
	.pid_root = "/proc",
};

static void __attribute__((noreturn, format(printf, 2, 3)))
fatal(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  -p, --proc FILE       read FILE instead of " DEFAULT_PROC "\n"
		"  -a, --all             every mergeable process, not only QEMU\n"
		"  -P, --pages           sizes in pages, not KiB/MiB/GiB\n"
		"  -j, --json            one JSON document\n"
		"  -n, --need SIZE       the cheapest set of VMs freeing SIZE (K, M, G, T;\n"
		"                        pages with --pages)\n"
		"  -w, --watch SECONDS   print again every SECONDS\n"
		"  -c, --count N         with --watch: stop after N prints\n"
		"      --pid-root DIR    read PID/cmdline under DIR (default /proc)\n"
		"  -h, --help\n", prog);
}

/* "512", "64K", "1.5G" (binary units) into bytes; -1 if malformed. */
static long long parse_size(const char *s, int in_pages)
{
	static const char units[] = "KMGT";
	long double v;
	char *end;
	const char *u;

	errno = 0;
	v = strtold(s, &end);
	if (errno || end == s || v <= 0 || *s == '-' || *s == '+')
		return -1;
	if (*end) {
		if (in_pages || end[1] || !isalpha((unsigned char)end[0]))
			return -1;
		u = strchr(units, toupper((unsigned char)end[0]));
		if (!u)
			return -1;
		for (; u >= units; u--)
			v *= 1024;
	} else if (v != (long long)v) {
		return -1;
	}
	if (v > (long double)LLONG_MAX / 2)
		return -1;
	return (long long)(v + 0.5);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proc", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "pages", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "need", required_argument, NULL, 'n' },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "pid-root", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *need = NULL;
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "p:aPjn:w:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.proc = optarg;
			break;
		case 'a':
			opt.all = 1;
			break;
		case 'P':
			opt.pages = 1;
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'n':
			need = optarg;
			break;
		case 'w':
		case 'c':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 86400)
				fatal(EXIT_USAGE, "--%s: '%s' is not a whole number from 1 to 86400",
				      c == 'w' ? "watch" : "count", optarg);
			if (c == 'w')
				opt.watch = (unsigned int)v;
			else
				opt.count = v;
			break;
		case 'R':
			opt.pid_root = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc)
		fatal(EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
	if (opt.count && !opt.watch)
		fatal(EXIT_USAGE, "--count needs --watch");
	if (need) {
		opt.need = parse_size(need, opt.pages);
		if (opt.need <= 0)
			fatal(EXIT_USAGE, "--need: '%s' is not a size (%s)", need,
			      opt.pages ? "a number of pages" :
			      "bytes, or a number with K, M, G or T");
	}
}

static long long need_pages(void)
{
	if (opt.pages)
		return opt.need;
	return (opt.need + opt.page_size - 1) / opt.page_size;
}

/* Reads the file; exits with a hint if it cannot. */
static void load(struct vms_snapshot *snap)
{
	char err[256];
	FILE *f = fopen(opt.proc, "r");

	if (!f) {
		if (errno == ENOENT && !strcmp(opt.proc, DEFAULT_PROC))
			fatal(EXIT_NO_MODULE,
			      "%s not found: the ksm_vmshare module is not loaded (try: modprobe ksm_vmshare, or insmod ksm_vmshare.ko)",
			      opt.proc);
		if (errno == EACCES)
			fatal(EXIT_NO_MODULE, "%s: permission denied (it is readable by root only)",
			      opt.proc);
		fatal(EXIT_NO_MODULE, "%s: %s", opt.proc, strerror(errno));
	}
	if (vms_parse(f, snap, err, sizeof(err))) {
		fclose(f);
		fatal(EXIT_NO_MODULE, "%s: %s", opt.proc, err);
	}
	fclose(f);
}

static void name_vm(struct vm_entry *e)
{
	char path[PATH_MAX], buf[8192];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%ld/cmdline", opt.pid_root, e->row.pid);
	f = fopen(path, "r");
	if (f) {
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[len] = '\0';
	e->is_qemu = vmname_is_qemu(buf, len) ||
		     !strncmp(e->row.comm, "qemu", 4);
	if (!vmname_from_cmdline(buf, len, e->name, sizeof(e->name)))
		snprintf(e->name, sizeof(e->name), "%s", e->row.comm);
}

/* The VMs to consider, named and sorted; *n gets their number. */
static struct vm_entry *collect(const struct vms_snapshot *snap, size_t *n)
{
	struct vm_entry *vms = calloc(snap->n_rows + 1, sizeof(*vms));
	size_t i, k = 0;

	if (!vms)
		fatal(EXIT_NO_MODULE, "out of memory");
	for (i = 0; i < snap->n_rows; i++) {
		struct vm_entry *e = &vms[k];

		e->row = snap->rows[i];
		e->moved = e->row.unique + e->row.ksm_mapped;
		name_vm(e);
		if (opt.all || e->is_qemu)
			k++;
	}
	select_sort(vms, k);
	*n = k;
	return vms;
}

static const char *size_str(long long pages, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	long double v = (long double)pages * opt.page_size / 1024;
	int u = 0;

	if (opt.pages) {
		snprintf(buf, len, "%lld", pages);
		return buf;
	}
	if (!pages) {
		snprintf(buf, len, "0 KiB");
		return buf;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1Lf %s", v, units[u]);
	return buf;
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json_vm(const struct vm_entry *e)
{
	printf("{\"name\": ");
	print_json_string(e->name);
	printf(", \"pid\": %ld, \"comm\": ", e->row.pid);
	print_json_string(e->row.comm);
	printf(", \"qemu\": %s, \"unique\": %lld, \"self_shared\": %lld, "
	       "\"inter_shared\": %lld, \"ksm_mapped\": %lld, "
	       "\"predicted_freed\": %lld, \"moved\": %lld}",
	       e->is_qemu ? "true" : "false", e->row.unique,
	       e->row.self_shared, e->row.inter_shared, e->row.ksm_mapped,
	       e->row.predicted_freed, e->moved);
}

static void print_json(const struct vms_snapshot *snap,
		       const struct vm_entry *vms, size_t n,
		       const struct vm_entry *victim,
		       const struct need_result *need)
{
	size_t i;
	int first = 1;

	printf("{\"version\": %d, \"state\": ", snap->version);
	print_json_string(snap->state);
	printf(", \"exact\": %s, \"page_size\": %ld, \"ksm_pages\": %lld, "
	       "\"ksm_mappings\": %lld, \"vms\": [",
	       vms_exact(snap) ? "true" : "false", opt.page_size,
	       snap->ksm_pages, snap->ksm_mappings);
	for (i = 0; i < n; i++) {
		printf(i ? ", " : "");
		print_json_vm(&vms[i]);
	}
	printf("], \"victim\": ");
	if (victim)
		print_json_vm(victim);
	else
		printf("null");
	if (need) {
		printf(", \"need\": {\"pages\": %lld, \"found\": %s, "
		       "\"freed_at_least\": %lld, \"moved\": %lld, "
		       "\"exact_search\": %s, \"pids\": [",
		       need_pages(), need->found ? "true" : "false",
		       need->freed, need->moved,
		       need->exact_search ? "true" : "false");
		for (i = 0; i < n; i++) {
			if (!need->chosen[i])
				continue;
			printf("%s%ld", first ? "" : ", ", vms[i].row.pid);
			first = 0;
		}
		printf("]}");
	}
	printf("}\n");
}

static void print_table(const struct vms_snapshot *snap,
			const struct vm_entry *vms, size_t n)
{
	char a[32], b[32], c[32], d[32], e[32];
	int width = 4;
	size_t i;

	for (i = 0; i < n; i++)
		if ((int)strlen(vms[i].name) > width)
			width = (int)strlen(vms[i].name);
	printf("ksm_vmshare: state %s, %lld KSM pages, %lld mappings\n",
	       snap->state, snap->ksm_pages, snap->ksm_mappings);
	if (!vms_exact(snap))
		printf("note: the module is %s: every number below is a lower bound\n",
		       snap->state);
	printf("%-*s %8s %11s %11s %11s %11s %11s\n", width, "NAME", "PID",
	       "UNIQUE", "SELF", "INTER", "FREED", "MOVED");
	for (i = 0; i < n; i++) {
		const struct vm_entry *v = &vms[i];

		printf("%-*s %8ld %11s %11s %11s %11s %11s\n", width, v->name,
		       v->row.pid, size_str(v->row.unique, a, sizeof(a)),
		       size_str(v->row.self_shared, b, sizeof(b)),
		       size_str(v->row.inter_shared, c, sizeof(c)),
		       size_str(v->row.predicted_freed, d, sizeof(d)),
		       size_str(v->moved, e, sizeof(e)));
	}
}

static void print_need(const struct vm_entry *vms, size_t n,
		       const struct need_result *need)
{
	char a[32], b[32], c[32];
	const char *sep = "";
	size_t i;

	printf("need %s: ", size_str(need_pages(), a, sizeof(a)));
	if (!need->found) {
		printf("no set of VMs is known to free that much\n");
		return;
	}
	printf("evict");
	for (i = 0; i < n; i++) {
		if (!need->chosen[i])
			continue;
		printf("%s %s (pid %ld)", sep, vms[i].name, vms[i].row.pid);
		sep = ",";
	}
	printf(": frees at least %s, moves %s%s\n",
	       size_str(need->freed, b, sizeof(b)),
	       size_str(need->moved, c, sizeof(c)),
	       need->exact_search ? "" : " (greedy choice: too many VMs to search them all)");
	printf("  at least: the per-VM counts add up what each frees alone; pages the set shares only among itself are freed too\n");
}

/* One read and print; returns the exit status. */
static int run_once(void)
{
	struct need_result need = { 0 };
	const struct vm_entry *victim;
	struct vms_snapshot snap;
	struct vm_entry *vms;
	size_t n;
	int status = 0;

	load(&snap);
	vms = collect(&snap, &n);
	victim = select_victim(vms, n);
	status = victim ? 0 : EXIT_NO_VM;
	if (opt.need) {
		need.chosen = calloc(n + 1, 1);
		if (!need.chosen || select_need(vms, n, need_pages(), &need))
			fatal(EXIT_NO_MODULE, "out of memory");
		status = need.found ? 0 : EXIT_NO_VM;
	}
	if (opt.json) {
		print_json(&snap, vms, n, victim, opt.need ? &need : NULL);
	} else {
		print_table(&snap, vms, n);
		if (victim) {
			char a[32], b[32];

			printf("victim: %s (pid %ld) frees %s; migrating it moves %s\n",
			       victim->name, victim->row.pid,
			       size_str(victim->row.predicted_freed, a, sizeof(a)),
			       size_str(victim->moved, b, sizeof(b)));
		} else {
			printf("victim: none (%s)\n", n ? "no VM would free anything" :
			       opt.all ? "no mergeable process" :
			       "no QEMU process; --all shows every mergeable process");
		}
		if (opt.need)
			print_need(vms, n, &need);
	}
	free(need.chosen);
	free(vms);
	vms_free(&snap);
	fflush(stdout);
	return status;
}

int main(int argc, char **argv)
{
	long i;
	int status = 0;

	opt.page_size = sysconf(_SC_PAGESIZE);
	parse_args(argc, argv);
	if (!opt.watch)
		return run_once();
	for (i = 0; !opt.count || i < opt.count; i++) {
		if (i)
			sleep(opt.watch);
		if (!opt.json && isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		status = run_once();
	}
	return status;
}
