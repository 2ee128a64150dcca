// SPDX-License-Identifier: GPL-2.0
/*
 * timeit: wall-clock costs for the benchmarks, in the guest (busybox has no
 * sub-second timer).
 *
 *   timeit read N FILE      read FILE whole N times; print ns per read
 *   timeit run N CMD [ARG...]
 *                           run CMD N times (output discarded); print ns per run
 *   timeit count N FILE     wait until the number in FILE has grown by N
 *                           (from the next increment on, polling every
 *                           millisecond); print ns per increment
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int read_whole(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -1 : 0;
}

static int run_once(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return 0;
}

/* The number FILE holds (a counter in /sys or /proc), or -1. */
static long long read_number(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoll(buf);
}

/* The counter's value once it changes; -1 on a read error. */
static long long next_change(const char *path, long long from)
{
	const struct timespec ms = { 0, 1000000 };
	long long v;

	while ((v = read_number(path)) == from)
		nanosleep(&ms, NULL);
	return v;
}

/*
 * ns per increment of a counter over n increments, timed from one change
 * to another so that the start falls on an increment too (a full scan's
 * start, for ksmd's full_scans).
 */
static int count_increments(long n, const char *path)
{
	long long start = next_change(path, read_number(path)), v = start;
	long long t0 = now_ns();

	while (v >= 0 && v < start + n)
		v = next_change(path, v);
	if (v < 0) {
		fprintf(stderr, "timeit: cannot read %s\n", path);
		return 1;
	}
	printf("%lld\n", (now_ns() - t0) / (v - start));
	return 0;
}

int main(int argc, char **argv)
{
	long n, i;
	long long t0;

	if (argc < 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "run") &&
			 strcmp(argv[1], "count"))) {
		fprintf(stderr, "usage: timeit read N FILE | timeit run N CMD [ARG...] | timeit count N FILE\n");
		return 2;
	}
	n = atol(argv[2]);
	if (n < 1) {
		fprintf(stderr, "timeit: N must be at least 1\n");
		return 2;
	}
	if (!strcmp(argv[1], "count"))
		return count_increments(n, argv[3]);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int err = !strcmp(argv[1], "read") ? read_whole(argv[3]) :
						     run_once(argv + 3);
		if (err) {
			fprintf(stderr, "timeit: %s failed\n", argv[3]);
			return 1;
		}
	}
	printf("%lld\n", (now_ns() - t0) / n);
	return 0;
}
