// SPDX-License-Identifier: GPL-2.0
/*
 * timeit: wall-clock costs for the benchmarks, in the guest (busybox has no
 * sub-second timer).
 *
 *   timeit read N FILE      read FILE whole N times; print ns per read
 *   timeit run N CMD [ARG...]
 *                           run CMD N times (output discarded); print ns per run
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

int main(int argc, char **argv)
{
	long n, i;
	long long t0;

	if (argc < 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "run"))) {
		fprintf(stderr, "usage: timeit read N FILE | timeit run N CMD [ARG...]\n");
		return 2;
	}
	n = atol(argv[2]);
	if (n < 1) {
		fprintf(stderr, "timeit: N must be at least 1\n");
		return 2;
	}
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
