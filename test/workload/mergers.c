// SPDX-License-Identifier: GPL-2.0
/*
 * mergers: mergeable processes of the kinds the recipes cannot make, for
 * the scenarios that stress the module's view of processes rather than of
 * pages. Every process maps PAGES pages whose content repeats with period
 * KINDS (page i holds pattern i % KINDS), marks them MADV_MERGEABLE, and
 * so shares them with itself and with every other such process.
 *
 *   mergers named NAME PAGES  set the process name (prctl PR_SET_NAME: any
 *                             bytes but NUL, 15 at most), print "ready PID"
 *                             and wait for SIGTERM
 *   mergers fork PAGES N      map and fill, print "ready PID"; on SIGUSR1
 *                             fork N children that map the parent's merged
 *                             pages; child k stays (k % 3 == 0), writes
 *                             every page of its own first (1), or exits
 *                             at once (2); prints "child PID KIND" for
 *                             each, then "forked"; SIGTERM ends all
 *   mergers many N PAGES      N processes (forked from a parent that is not
 *                             mergeable itself), each its own PAGES; prints
 *                             "ready N" once all are filled; SIGTERM to
 *                             the parent ends all
 *   mergers churn N PAGES MS  N processes one after another, at most 8 alive
 *                             at once, each alive MS milliseconds; prints
 *                             "churned N" at the end
 *   mergers hold MIB          take MIB MiB of ordinary (not mergeable)
 *                             anonymous memory, print "ready PID" and wait
 *                             for SIGTERM: a host short of memory
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Distinct page contents: every content is mapped PAGES / KINDS times. */
#define KINDS		16
/* Children of churn alive at the same time. */
#define CHURN_ALIVE	8

static const char *prog = "mergers";

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

static void usage(void)
{
	fprintf(stderr,
		"usage: %s named NAME PAGES\n"
		"       %s fork PAGES N\n"
		"       %s many N PAGES\n"
		"       %s churn N PAGES MS\n"
		"       %s hold MIB\n", prog, prog, prog, prog, prog);
	exit(2);
}

static long number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		fatal("'%s' is not a number from 0 to %ld", s, max);
	return v;
}

/* Map and fill pages, then hand them to KSM. */
static unsigned char *map_mergeable(long pages)
{
	size_t page = sysconf(_SC_PAGESIZE);
	unsigned char *mem;
	long i;

	mem = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fatal("mmap: %s", strerror(errno));
	/* small pages only: a huge page would hold zero-filled neighbours */
	if (madvise(mem, pages * page, MADV_NOHUGEPAGE))
		fatal("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	for (i = 0; i < pages; i++)
		memset(mem + i * page, 0x40 + i % KINDS, page);
	if (madvise(mem, pages * page, MADV_MERGEABLE))
		fatal("madvise(MADV_MERGEABLE): %s", strerror(errno));
	return mem;
}

static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	if (sigprocmask(SIG_BLOCK, set, NULL))
		fatal("sigprocmask: %s", strerror(errno));
}

static int wait_signal(sigset_t *set)
{
	int sig;

	if (sigwait(set, &sig))
		fatal("sigwait failed");
	return sig;
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static int cmd_named(const char *name, long pages)
{
	sigset_t set;

	block_signals(&set);
	if (prctl(PR_SET_NAME, name, 0, 0, 0))
		fatal("prctl(PR_SET_NAME): %s", strerror(errno));
	map_mergeable(pages);
	say("ready %d\n", (int)getpid());
	while (wait_signal(&set) == SIGUSR1)
		;
	return 0;
}

/* Kill and reap every child in pids. */
static void end_children(const pid_t *pids, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
}

static int cmd_fork(long pages, long n)
{
	size_t page = sysconf(_SC_PAGESIZE);
	pid_t *pids = calloc(n + 1, sizeof(*pids));
	unsigned char *mem;
	sigset_t set;
	long k, i;

	if (!pids)
		fatal("out of memory");
	block_signals(&set);
	mem = map_mergeable(pages);
	say("ready %d\n", (int)getpid());
	while (wait_signal(&set) == SIGUSR1) {
		for (k = 0; k < n; k++) {
			pids[k] = fork();
			if (pids[k] < 0)
				fatal("fork: %s", strerror(errno));
			if (pids[k] > 0)
				continue;
			if (k % 3 == 2)
				_exit(0);
			if (k % 3 == 1)
				for (i = 0; i < pages; i++)
					memset(mem + i * page, 0x80 + k % 64,
					       page);
			/* stays: SIGTERM (blocked, inherited) ends it */
			wait_signal(&set);
			_exit(0);
		}
		for (k = 0; k < n; k++)
			say("child %d %ld\n", (int)pids[k], k % 3);
		/* the ones that exit at once are reaped now */
		for (k = 2; k < n; k += 3)
			waitpid(pids[k], NULL, 0);
		say("forked\n");
	}
	end_children(pids, n);
	return 0;
}

static int cmd_many(long n, long pages)
{
	pid_t *pids = calloc(n + 1, sizeof(*pids));
	int ready[2];
	sigset_t set;
	long k;
	char c;

	if (!pids || pipe(ready))
		fatal("out of memory or pipes");
	block_signals(&set);
	for (k = 0; k < n; k++) {
		pids[k] = fork();
		if (pids[k] < 0) {
			end_children(pids, k);
			fatal("fork %ld: %s", k, strerror(errno));
		}
		if (pids[k] == 0) {
			close(ready[0]);
			map_mergeable(pages);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			close(ready[1]);
			wait_signal(&set);
			_exit(0);
		}
	}
	close(ready[1]);
	for (k = 0; k < n; k++)
		if (read(ready[0], &c, 1) != 1)
			fatal("a child died before it was ready");
	say("ready %ld\n", n);
	while (wait_signal(&set) == SIGUSR1)
		;
	end_children(pids, n);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int cmd_churn(long n, long pages, long ms)
{
	long started = 0, alive = 0;

	while (started < n || alive) {
		if (started < n && alive < CHURN_ALIVE) {
			pid_t pid = fork();

			if (pid < 0)
				fatal("fork: %s", strerror(errno));
			if (pid == 0) {
				map_mergeable(pages);
				sleep_ms(ms);
				_exit(0);
			}
			started++;
			alive++;
			continue;
		}
		if (wait(NULL) > 0)
			alive--;
	}
	say("churned %ld\n", n);
	return 0;
}

static int cmd_hold(long mib)
{
	size_t len = (size_t)mib << 20;
	sigset_t set;
	char *mem;

	block_signals(&set);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fatal("mmap: %s", strerror(errno));
	/*
	 * Every page faulted in by one call where the kernel has it (5.14+):
	 * a fault per page costs seconds on the debug kernel. Then a distinct
	 * non-zero word a page, so that no page is the zero page (nor could
	 * KSM merge one: the memory is not mergeable).
	 */
	if (madvise(mem, len, MADV_POPULATE_WRITE) && errno != EINVAL)
		fatal("madvise(MADV_POPULATE_WRITE): %s", strerror(errno));
	for (size_t off = 0; off < len; off += 4096)
		*(long *)(mem + off) = (long)off + 1;
	say("ready %d\n", (int)getpid());
	while (wait_signal(&set) == SIGUSR1)
		;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "named"))
		return cmd_named(argv[2], number(argv[3], 1L << 20));
	if (argc == 4 && !strcmp(argv[1], "fork"))
		return cmd_fork(number(argv[2], 1L << 20), number(argv[3], 1000));
	if (argc == 4 && !strcmp(argv[1], "many"))
		return cmd_many(number(argv[2], 100000), number(argv[3], 1024));
	if (argc == 5 && !strcmp(argv[1], "churn"))
		return cmd_churn(number(argv[2], 100000), number(argv[3], 1024),
				 number(argv[4], 60000));
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return cmd_hold(number(argv[2], 1L << 20));
	usage();
}
