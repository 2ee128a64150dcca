// SPDX-License-Identifier: GPL-2.0
/*
 * readas UID FILE: open FILE for reading as user UID and print "OK" or the
 * errno name; the guest has no users or su to do it otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uid_t uid;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: readas UID FILE\n");
		return 2;
	}
	uid = (uid_t)atoi(argv[1]);
	if (setgid(uid) || setuid(uid)) {
		perror("readas: setuid");
		return 2;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		puts(errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" :
		     strerror(errno));
		return 1;
	}
	puts("OK");
	close(fd);
	return 0;
}
