// SPDX-License-Identifier: GPL-2.0
/*
 * softoffline PID COUNT: soft-offline up to COUNT of PID's KSM pages and
 * print how many the kernel moved.
 *
 * Soft offlining (CONFIG_MEMORY_FAILURE, the memory hotplug sysfs file
 * soft_offline_page) migrates a page in use to a new one and retires the
 * old: for a KSM page the stable node stays and the page moves, what
 * compaction does when it chooses to, but on request and every time. The
 * compact scenario uses it where compaction moved nothing.
 *
 * KSM pages: the page frame from /proc/PID/pagemap, mapped twice or more
 * (/proc/kpagecount) and flagged KPF_KSM (/proc/kpageflags). The flag
 * alone is not enough: Debian's 6.12 sets it on every anonymous page
 * (../shared/docs/kernel-facts.md); a count of two is, for a process that
 * shares no anonymous memory by fork, as the scenarios' VMs. Each page
 * frame is
 * offlined once; the count printed is the pages that moved: the kernel took
 * the write and the address maps another page frame after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define KPF_KSM 21
#define MAX_PFNS 4096

static const char soft_offline_file[] =
	"/sys/devices/system/memory/soft_offline_page";

static int read_u64(int fd, uint64_t index, uint64_t *value)
{
	return pread(fd, value, sizeof(*value), (off_t)(index * sizeof(*value))) ==
	       (ssize_t)sizeof(*value) ? 0 : -1;
}

/* seen: whether pfn is already among the first n of pfns */
static int seen(const uint64_t *pfns, int n, uint64_t pfn)
{
	int i;

	for (i = 0; i < n; i++)
		if (pfns[i] == pfn)
			return 1;
	return 0;
}

/*
 * find_ksm_pfns: up to want distinct page frames of KSM pages mapped by
 * pid, in address order; returns how many, or -1 with a message.
 */
static int find_ksm_pfns(int pid, int want, uint64_t *pfns,
			 unsigned long *addrs)
{
	char path[64], line[512];
	unsigned long start, end, addr;
	long page_size = sysconf(_SC_PAGESIZE);
	int pagemap, kpageflags, kpagecount, n = 0;
	uint64_t entry, flags, count, pfn;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap = open(path, O_RDONLY);
	kpageflags = open("/proc/kpageflags", O_RDONLY);
	kpagecount = open("/proc/kpagecount", O_RDONLY);
	if (!maps || pagemap < 0 || kpageflags < 0 || kpagecount < 0) {
		fprintf(stderr, "softoffline: pid %d: %s\n", pid, strerror(errno));
		return -1;
	}
	while (n < want && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		for (addr = start; addr < end && n < want; addr += page_size) {
			if (read_u64(pagemap, addr / page_size, &entry) ||
			    !(entry & PM_PRESENT))
				continue;
			pfn = entry & PM_PFN_MASK;
			if (read_u64(kpageflags, pfn, &flags) ||
			    !(flags & (1ULL << KPF_KSM)) ||
			    read_u64(kpagecount, pfn, &count) || count < 2 ||
			    seen(pfns, n, pfn))
				continue;
			addrs[n] = addr;
			pfns[n++] = pfn;
		}
	}
	fclose(maps);
	close(pagemap);
	close(kpageflags);
	close(kpagecount);
	return n;
}

/* pfn_at: the page frame pid maps at addr now, or 0 */
static uint64_t pfn_at(int pid, unsigned long addr)
{
	long page_size = sysconf(_SC_PAGESIZE);
	uint64_t entry = 0;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (read_u64(fd, addr / page_size, &entry) || !(entry & PM_PRESENT))
		entry = 0;
	close(fd);
	return entry & PM_PFN_MASK;
}

int main(int argc, char **argv)
{
	static uint64_t pfns[MAX_PFNS];
	static unsigned long addrs[MAX_PFNS];
	long page_size = sysconf(_SC_PAGESIZE);
	int pid, want, found, moved = 0, i, fd;
	char address[32];
	int len;

	if (argc != 3 || (pid = atoi(argv[1])) <= 0 ||
	    (want = atoi(argv[2])) <= 0 || want > MAX_PFNS) {
		fprintf(stderr, "usage: softoffline PID COUNT (COUNT 1-%d)\n",
			MAX_PFNS);
		return 2;
	}
	found = find_ksm_pfns(pid, want, pfns, addrs);
	if (found < 0)
		return 1;
	for (i = 0; i < found; i++) {
		fd = open(soft_offline_file, O_WRONLY);
		if (fd < 0) {
			fprintf(stderr, "softoffline: %s: %s\n", soft_offline_file,
				strerror(errno));
			return 1;
		}
		len = snprintf(address, sizeof(address), "0x%" PRIx64,
			       pfns[i] * (uint64_t)page_size);
		if (write(fd, address, (size_t)len) != len) {
			fprintf(stderr, "softoffline: pfn %#" PRIx64 ": %s\n",
				pfns[i], strerror(errno));
		} else {
			/* moved: the address maps another page frame now */
			uint64_t now = pfn_at(pid, addrs[i]);

			if (now && now != pfns[i])
				moved++;
			else
				fprintf(stderr, "softoffline: %#lx still at pfn %#" PRIx64 "\n",
					addrs[i], now);
		}
		close(fd);
	}
	printf("%d\n", moved);
	return moved > 0 ? 0 : 1;
}
