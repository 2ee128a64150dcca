// SPDX-License-Identifier: GPL-2.0
/*
 * qmon SOCKET COMMAND: send one command to a QEMU human monitor listening
 * on a unix socket and print its answer (the guest has no socat or nc -U).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Read what arrives until the monitor is quiet for quiet_ms. */
static void drain(int fd, int quiet_ms, int print)
{
	char buf[4096];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (poll(&p, 1, quiet_ms) > 0) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		if (print)
			fwrite(buf, 1, n, stdout);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: qmon SOCKET COMMAND\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "qmon: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	drain(fd, 500, 0);	/* the banner and first prompt */
	if (dprintf(fd, "%s\n", argv[2]) < 0) {
		fprintf(stderr, "qmon: write: %s\n", strerror(errno));
		return 1;
	}
	drain(fd, 1000, 1);
	putchar('\n');
	close(fd);
	return 0;
}
