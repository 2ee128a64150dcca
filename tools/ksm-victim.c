// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-victim: which VM to live-migrate away to get memory back.
 *
 * Reads /proc/ksm_vmshare (or a saved copy), names each VM after QEMU's
 * -name, and prints, most freed first, what evicting each one would free
 * and what migrating it would move; last, the victim. --need SIZE picks
 * the cheapest set of VMs that frees at least SIZE, exactly when
 * /proc/ksm_vmshare_sets is there. --json and --prometheus (the
 * node_exporter textfile format, written atomically with --output) are
 * for machines. See ksm-victim.8.
 *
 * Exit status: 0 a victim (or set) was printed; 1 no VM qualifies;
 * 2 usage error; 3 the module is not loaded, its file is unreadable or
 * malformed, or --output cannot be written.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "select.h"
#include "textsafe.h"
#include "vmname.h"
#include "vmshare_format.h"

#define DEFAULT_PROC	"/proc/ksm_vmshare"
#define DEFAULT_SETS	"/proc/ksm_vmshare_sets"
#define EXIT_NO_VM	1
#define EXIT_USAGE	2
#define EXIT_NO_MODULE	3

static const char *prog = "ksm-victim";

static struct {
	const char *proc;
	const char *sets;	/* NULL: the live file, if --need and there */
	const char *pid_root;
	const char *output;	/* NULL: stdout */
	int all;
	int pages;
	int json;
	int prometheus;
	long long need;		/* bytes, or pages with --pages; 0: none */
	unsigned int watch;	/* seconds; 0: once */
	long count;		/* iterations of --watch; 0: until killed */
	long page_size;
} opt = {
	.proc = DEFAULT_PROC,
	.pid_root = "/proc",
};

/* Where this run's output goes, and --output's temporary file. */
static FILE *out;
static char out_tmp[PATH_MAX];

static void __attribute__((noreturn, format(printf, 2, 3)))
fatal(int status, const char *fmt, ...)
{
	static char msg[1024], safe_msg[4 * sizeof(msg)];
	va_list ap;

	if (out_tmp[0])
		unlink(out_tmp);
	fflush(stdout);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* messages quote files and names: no control character gets through */
	text_message(msg, safe_msg, sizeof(safe_msg));
	fprintf(stderr, "%s: %s\n", prog, safe_msg);
	exit(status);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  -p, --proc FILE       read FILE instead of " DEFAULT_PROC "\n"
		"  -S, --sets FILE       with --need: read FILE instead of " DEFAULT_SETS "\n"
		"  -a, --all             every mergeable process, not only QEMU\n"
		"  -P, --pages           sizes in pages, not KiB/MiB/GiB\n"
		"  -j, --json            one JSON document\n"
		"  -m, --prometheus      Prometheus metrics (node_exporter textfile format)\n"
		"  -o, --output FILE     write FILE atomically instead of standard output\n"
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
		{ "sets", required_argument, NULL, 'S' },
		{ "all", no_argument, NULL, 'a' },
		{ "pages", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
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

	while ((c = getopt_long(argc, argv, "p:S:aPjmo:n:w:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.proc = optarg;
			break;
		case 'S':
			opt.sets = optarg;
			break;
		case 'm':
			opt.prometheus = 1;
			break;
		case 'o':
			if (!*optarg)
				fatal(EXIT_USAGE, "--output: empty file name");
			opt.output = optarg;
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
	if (opt.json && opt.prometheus)
		fatal(EXIT_USAGE, "--json and --prometheus: choose one");
	if (opt.sets && !need)
		fatal(EXIT_USAGE, "--sets is read by --need only");
	if (opt.prometheus && need)
		fatal(EXIT_USAGE, "--prometheus has no --need");
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

/* Opens a file to read; exits with a hint if it cannot. */
static FILE *open_input(const char *path, const char *live)
{
	FILE *f = fopen(path, "r");

	if (f)
		return f;
	if (errno == ENOENT && !strcmp(path, live))
		fatal(EXIT_NO_MODULE,
		      "%s not found: the ksm_vmshare module is not loaded (try: modprobe ksm_vmshare, or insmod ksm_vmshare.ko)",
		      path);
	if (errno == EACCES)
		fatal(EXIT_NO_MODULE, "%s: permission denied (it is readable by root only)",
		      path);
	fatal(EXIT_NO_MODULE, "%s: %s", path, strerror(errno));
}

static void load(struct vms_snapshot *snap)
{
	char err[512];
	FILE *f = open_input(opt.proc, DEFAULT_PROC);

	if (vms_parse(f, snap, err, sizeof(err))) {
		fclose(f);
		fatal(EXIT_NO_MODULE, "%s: %s", opt.proc, err);
	}
	fclose(f);
}

/*
 * The sets file --need reads: --sets FILE, else the live one when the
 * live /proc/ksm_vmshare is read too and the module serves it. Returns 0
 * if there is none.
 */
static int load_sets(struct vms_sets *sets)
{
	const char *path = opt.sets;
	char err[512];
	FILE *f;

	if (!path) {
		if (strcmp(opt.proc, DEFAULT_PROC) || access(DEFAULT_SETS, F_OK))
			return 0;
		path = DEFAULT_SETS;
	}
	f = open_input(path, DEFAULT_SETS);
	if (vms_sets_parse(f, sets, err, sizeof(err))) {
		fclose(f);
		fatal(EXIT_NO_MODULE, "%s: %s", path, err);
	}
	fclose(f);
	return 1;
}

static void name_vm(struct vm_entry *e)
{
	static char buf[65536];
	char path[PATH_MAX];
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
	if (!vmname_uuid_from_cmdline(buf, len, e->uuid))
		e->uuid[0] = '\0';
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

/* s made safe for a terminal (see textsafe.h), in a rotating buffer. */
static const char *safe(const char *s)
{
	static char bufs[4][4 * VM_NAME_MAX + 1];
	static int next;
	char *b = bufs[next++ % 4];

	text_terminal(s, b, sizeof(bufs[0]));
	return b;
}

/* --- JSON --------------------------------------------------------------- */

static void print_json_vm(const struct vm_entry *e)
{
	fprintf(out, "{\"name\": ");
	text_json(out, e->name);
	fprintf(out, ", \"uuid\": ");
	if (e->uuid[0])
		text_json(out, e->uuid);
	else
		fprintf(out, "null");
	fprintf(out, ", \"pid\": %ld, \"comm\": ", e->row.pid);
	text_json(out, e->row.comm);
	fprintf(out, ", \"qemu\": %s, \"unique\": %lld, \"self_shared\": %lld, "
		"\"inter_shared\": %lld, \"ksm_mapped\": %lld, "
		"\"predicted_freed\": %lld, \"moved\": %lld}",
		e->is_qemu ? "true" : "false", e->row.unique,
		e->row.self_shared, e->row.inter_shared, e->row.ksm_mapped,
		e->row.predicted_freed, e->moved);
}

struct need_info {
	struct need_result res;
	const char *sets_path;		/* the sets file read, or NULL */
	const char *sets_ignored;	/* why it was not used, or NULL */
	const char *inexact_why;	/* why freed is a lower bound */
};

static void print_json(const struct vms_snapshot *snap,
		       const struct vm_entry *vms, size_t n,
		       const struct vm_entry *victim,
		       const struct need_info *need)
{
	size_t i;
	int first = 1;

	fprintf(out, "{\"version\": %d, \"state\": ", snap->version);
	text_json(out, snap->state);
	fprintf(out, ", \"exact\": %s, \"page_size\": %ld, \"ksm_pages\": %lld, "
		"\"ksm_mappings\": %lld, \"header\": {",
		vms_exact(snap) ? "true" : "false", opt.page_size,
		snap->ksm_pages, snap->ksm_mappings);
	for (i = 0; i < snap->n_headers; i++) {
		const struct vms_header *h = &snap->headers[i];

		fprintf(out, i ? ", " : "");
		text_json(out, h->key);
		fprintf(out, ": ");
		if (h->numeric)
			fprintf(out, "%lld", h->number);
		else
			text_json(out, h->value);
	}
	fprintf(out, "}, \"vms\": [");
	for (i = 0; i < n; i++) {
		fprintf(out, i ? ", " : "");
		print_json_vm(&vms[i]);
	}
	fprintf(out, "], \"victim\": ");
	if (victim)
		print_json_vm(victim);
	else
		fprintf(out, "null");
	if (need) {
		const struct need_result *r = &need->res;

		fprintf(out, ", \"need\": {\"pages\": %lld, \"found\": %s, "
			"\"pids\": [", need_pages(), r->found ? "true" : "false");
		for (i = 0; i < n; i++) {
			if (!r->chosen[i])
				continue;
			fprintf(out, "%s%ld", first ? "" : ", ", vms[i].row.pid);
			first = 0;
		}
		fprintf(out, "], \"freed\": %lld, \"freed_exact\": %s, "
			"\"moved\": %lld, \"exact_search\": %s, "
			"\"candidates\": %zu, \"method\": \"%s\", \"sets_ignored\": ",
			r->freed, r->freed_exact ? "true" : "false", r->moved,
			r->exact_search ? "true" : "false", r->candidates,
			r->from_sets ? "sets" : "per_vm");
		if (need->sets_ignored)
			text_json(out, need->sets_ignored);
		else
			fprintf(out, "null");
		fprintf(out, "}");
	}
	fprintf(out, "}\n");
}

/* --- Prometheus ----------------------------------------------------------- */

static void prom_family(const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void prom_bytes(long long pages)
{
	/* exact below 2^64: the long double mantissa has 64 bits */
	fprintf(out, " %.0Lf\n", (long double)pages * opt.page_size);
}

static void print_prometheus(const struct vms_snapshot *snap,
			     const struct vm_entry *vms, size_t n)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} gauges[] = {
		{ "ksm_vmshare_vm_unique_bytes",
		  "Anonymous memory of the VM not backed by KSM.",
		  offsetof(struct vms_row, unique) },
		{ "ksm_vmshare_vm_self_shared_bytes",
		  "KSM pages that only this VM maps.",
		  offsetof(struct vms_row, self_shared) },
		{ "ksm_vmshare_vm_inter_shared_bytes",
		  "KSM pages this VM maps together with at least one other VM.",
		  offsetof(struct vms_row, inter_shared) },
		{ "ksm_vmshare_vm_ksm_mapped_bytes",
		  "Memory of the VM backed by KSM pages, each of its mappings counted.",
		  offsetof(struct vms_row, ksm_mapped) },
		{ "ksm_vmshare_vm_freed_on_migration_bytes",
		  "Memory the host gets back if this VM alone is migrated away.",
		  offsetof(struct vms_row, predicted_freed) },
	};
	size_t g, i;

	for (g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		prom_family(gauges[g].name, gauges[g].help);
		for (i = 0; i < n; i++) {
			const struct vm_entry *e = &vms[i];

			fprintf(out, "%s{domain=", gauges[g].name);
			text_prom_label(out, e->name);
			fprintf(out, ",uuid=");
			text_prom_label(out, e->uuid);
			fprintf(out, ",pid=\"%ld\"}", e->row.pid);
			prom_bytes(*(const long long *)((const char *)&e->row +
							gauges[g].offset));
		}
	}
	prom_family("ksm_vmshare_tracking",
		    "1 when ksm_vmshare's counts are exact (state tracking), else 0.");
	fprintf(out, "ksm_vmshare_tracking %d\n", vms_exact(snap));
	if (snap->verified_scans >= 0) {
		prom_family("ksm_vmshare_verified_scans",
			    "Consecutive KSM full scans whose check of ksm_vmshare's counts held.");
		fprintf(out, "ksm_vmshare_verified_scans %lld\n", snap->verified_scans);
	}
}

/* --- the table ------------------------------------------------------------ */

static void print_table(const struct vms_snapshot *snap,
			const struct vm_entry *vms, size_t n)
{
	char a[32], b[32], c[32], d[32], e[32], name[4 * VM_NAME_MAX + 1];
	size_t width = 4, w, i;

	for (i = 0; i < n; i++) {
		w = text_terminal(vms[i].name, name, sizeof(name));
		if (w > width)
			width = w;
	}
	fprintf(out, "ksm_vmshare: state %s, %lld KSM pages, %lld mappings\n",
		safe(snap->state), snap->ksm_pages, snap->ksm_mappings);
	if (!vms_exact(snap))
		fprintf(out, "note: the module is %s: every number below is a lower bound\n",
			safe(snap->state));
	fprintf(out, "%-*s %8s %11s %11s %11s %11s %11s\n", (int)width, "NAME",
		"PID", "UNIQUE", "SELF", "INTER", "FREED", "MOVED");
	for (i = 0; i < n; i++) {
		const struct vm_entry *v = &vms[i];

		w = text_terminal(v->name, name, sizeof(name));
		fprintf(out, "%s%*s %8ld %11s %11s %11s %11s %11s\n", name,
			(int)(width - w), "", v->row.pid,
			size_str(v->row.unique, a, sizeof(a)),
			size_str(v->row.self_shared, b, sizeof(b)),
			size_str(v->row.inter_shared, c, sizeof(c)),
			size_str(v->row.predicted_freed, d, sizeof(d)),
			size_str(v->moved, e, sizeof(e)));
	}
}

static void print_need(const struct vm_entry *vms, size_t n,
		       const struct need_info *info)
{
	const struct need_result *need = &info->res;
	char a[32], b[32], c[32];
	const char *sep = "";
	size_t i;

	fprintf(out, "need %s: ", size_str(need_pages(), a, sizeof(a)));
	if (!need->found) {
		fprintf(out, "no set of VMs is known to free that much\n");
	} else {
		fprintf(out, "evict");
		for (i = 0; i < n; i++) {
			if (!need->chosen[i])
				continue;
			fprintf(out, "%s %s (pid %ld)", sep, safe(vms[i].name),
				vms[i].row.pid);
			sep = ",";
		}
		fprintf(out, ": frees %s%s, moves %s",
			need->freed_exact ? "" : "at least ",
			size_str(need->freed, b, sizeof(b)),
			size_str(need->moved, c, sizeof(c)));
		if (!need->exact_search && need->from_sets)
			fprintf(out, " (heuristic choice: %zu VMs, more than %zu to search them all)",
				need->candidates, select_exact_max);
		else if (!need->exact_search)
			fprintf(out, " (greedy choice: %zu VMs, too many to search them all)",
				need->candidates);
		fprintf(out, "\n");
	}
	if (need->from_sets && need->freed_exact)
		fprintf(out, "  exact: from %s\n", info->sets_path);
	else if (need->from_sets && need->found)
		fprintf(out, "  at least: %s\n", info->inexact_why);
	else if (need->from_sets)
		fprintf(out, "  from %s: evicting every VM shown does not free that much\n",
			info->sets_path);
	else
		fprintf(out, "  at least: the per-VM counts add up what each frees alone; pages the set shares only among itself are freed too%s%s\n",
			info->sets_ignored ? "; sets file not used: " : "",
			info->sets_ignored ? safe(info->sets_ignored) : "");
}

/* --- output to a file, atomically ------------------------------------------- */

static void on_signal(int sig)
{
	if (out_tmp[0])
		unlink(out_tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Standard output, or a temporary file beside --output. */
static void output_open(void)
{
	const char *slash;
	mode_t mask;
	int fd;

	if (!opt.output) {
		out = stdout;
		return;
	}
	slash = strrchr(opt.output, '/');
	/* a dot file without ".prom": node_exporter skips it */
	if (slash)
		snprintf(out_tmp, sizeof(out_tmp), "%.*s.%s.XXXXXX",
			 (int)(slash + 1 - opt.output), opt.output, slash + 1);
	else
		snprintf(out_tmp, sizeof(out_tmp), ".%s.XXXXXX", opt.output);
	fd = mkstemp(out_tmp);
	if (fd < 0) {
		out_tmp[0] = '\0';
		fatal(EXIT_NO_MODULE, "%s: cannot create a temporary file beside it: %s",
		      opt.output, strerror(errno));
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask))
		fatal(EXIT_NO_MODULE, "%s: %s", out_tmp, strerror(errno));
	out = fdopen(fd, "w");
	if (!out)
		fatal(EXIT_NO_MODULE, "%s: %s", out_tmp, strerror(errno));
}

/* Flush, sync and rename the temporary file over --output. */
static void output_commit(void)
{
	char dir[PATH_MAX];
	const char *slash;
	int fd;

	if (!opt.output) {
		fflush(stdout);
		return;
	}
	if (fflush(out) || ferror(out) || fsync(fileno(out)))
		fatal(EXIT_NO_MODULE, "%s: write failed: %s", out_tmp, strerror(errno));
	if (fclose(out)) {
		out = NULL;
		fatal(EXIT_NO_MODULE, "%s: write failed: %s", out_tmp, strerror(errno));
	}
	out = NULL;
	if (rename(out_tmp, opt.output))
		fatal(EXIT_NO_MODULE, "cannot rename %s to %s: %s", out_tmp,
		      opt.output, strerror(errno));
	out_tmp[0] = '\0';
	/* the rename itself survives a crash once the directory is synced */
	slash = strrchr(opt.output, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - opt.output + 1) : 1,
		 slash ? opt.output : ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* --- one run ------------------------------------------------------------------ */

/*
 * Reads both files; with the live ones, again (up to three times) while
 * they disagree: they are read one after the other, and KSM may work in
 * between.
 */
static void load_all(struct vms_snapshot *snap, struct vms_sets *sets,
		     int *have_sets, struct need_info *info)
{
	static char why[256];
	int tries = opt.sets ? 1 : 3;

	for (;;) {
		load(snap);
		*have_sets = opt.need ? load_sets(sets) : 0;
		info->sets_ignored = NULL;
		if (!*have_sets)
			return;
		info->sets_ignored = select_sets_check(snap, sets, why, sizeof(why));
		if (!info->sets_ignored && strcmp(snap->state, sets->state)) {
			snprintf(why, sizeof(why), "its state is '%s', /proc/ksm_vmshare's '%s'",
				 sets->state, snap->state);
			info->sets_ignored = why;
		}
		if (!info->sets_ignored || !--tries)
			return;
		vms_free(snap);
		vms_sets_free(sets);
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	}
}

/* Why a set's freed figure from the sets file is a lower bound. */
#define STAR_INEXACT \
	"the sets file does not say which VMs map its '*' pages, and all of them may be in this set"
#define STATE_INEXACT "the module is not tracking: its counts are lower bounds"

/* One read and print; returns the exit status. */
static int run_once(void)
{
	struct need_info need;
	const struct vm_entry *victim;
	struct vms_snapshot snap;
	struct vms_sets sets = { 0 };
	struct vm_entry *vms;
	int status = 0, have_sets = 0;
	size_t n;

	memset(&need, 0, sizeof(need));
	load_all(&snap, &sets, &have_sets, &need);
	vms = collect(&snap, &n);
	victim = select_victim(vms, n);
	status = victim ? 0 : EXIT_NO_VM;
	if (opt.need) {
		struct need_result *r = &need.res;

		r->chosen = calloc(n + 1, 1);
		if (!r->chosen)
			fatal(EXIT_NO_MODULE, "out of memory");
		if (have_sets && !need.sets_ignored) {
			struct sets_view view;
			/* the "*" line can only be freed if every VM goes */
			int everyone = n == snap.n_rows && snap.unowned_vms == 0;

			need.sets_path = opt.sets ? opt.sets : DEFAULT_SETS;
			if (sets_view_build(vms, n, &sets, everyone, &view) ||
			    select_need_sets(vms, &view, need_pages(), r))
				fatal(EXIT_NO_MODULE, "out of memory");
			sets_view_free(&view);
			need.inexact_why = STAR_INEXACT;
			/* exact only if both files are */
			if (!vms_exact(&snap)) {
				r->freed_exact = 0;
				need.inexact_why = STATE_INEXACT;
			}
		} else if (select_need(vms, n, need_pages(), r)) {
			fatal(EXIT_NO_MODULE, "out of memory");
		}
		status = r->found ? 0 : EXIT_NO_VM;
	}
	output_open();
	if (opt.json) {
		print_json(&snap, vms, n, victim, opt.need ? &need : NULL);
	} else if (opt.prometheus) {
		print_prometheus(&snap, vms, n);
	} else {
		print_table(&snap, vms, n);
		if (victim) {
			char a[32], b[32];

			fprintf(out, "victim: %s (pid %ld) frees %s; migrating it moves %s\n",
				safe(victim->name), victim->row.pid,
				size_str(victim->row.predicted_freed, a, sizeof(a)),
				size_str(victim->moved, b, sizeof(b)));
		} else {
			fprintf(out, "victim: none (%s)\n", n ? "no VM would free anything" :
				opt.all ? "no mergeable process" :
				"no QEMU process; --all shows every mergeable process");
		}
		if (opt.need)
			print_need(vms, n, &need);
	}
	output_commit();
	free(need.res.chosen);
	free(vms);
	vms_free(&snap);
	if (have_sets)
		vms_sets_free(&sets);
	return status;
}

int main(int argc, char **argv)
{
	long i;
	int status = 0;

	opt.page_size = sysconf(_SC_PAGESIZE);
	parse_args(argc, argv);
	if (opt.output) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
	}
	if (!opt.watch)
		return run_once();
	for (i = 0; !opt.count || i < opt.count; i++) {
		if (i)
			sleep(opt.watch);
		if (!opt.json && !opt.prometheus && !opt.output &&
		    isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		status = run_once();
	}
	return status;
}
