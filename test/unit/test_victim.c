// SPDX-License-Identifier: GPL-2.0
/* Unit tests of ksm-victim's parts: the strict reader, naming, selection. */
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "vmname.h"
#include "vmshare_format.h"
#include "unit.h"

#define HEAD "ksm_vmshare - version: 1\n# state: tracking\n# ksm_pages: 4\n" \
	     "# ksm_mappings: 24\n# full_scans_seen: 7\n"
#define COLS "# pid unique self_shared inter_shared ksm_mapped predicted_freed comm\n"

static int parse(const char *text, struct vms_snapshot *s, char *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f)
		exit(2);
	err[0] = '\0';
	ret = vms_parse(f, s, err, 256);
	fclose(f);
	return ret;
}

static void test_parse_good(void)
{
	struct vms_snapshot s;
	char err[256];

	CHECK_EQ(parse(HEAD "# vms: 2\n# anything_new: 5 words here\n" COLS
		       "1234 5000 24 10000 15000 5024 qemu-system-x86\n"
		       "77 0 0 3 8 0 my vm with spaces\n", &s, err), 0);
	CHECK_EQ(s.version, 1);
	CHECK(!strcmp(s.state, "tracking"));
	CHECK(vms_exact(&s));
	CHECK_EQ(s.ksm_pages, 4);
	CHECK_EQ(s.full_scans_seen, 7);
	CHECK_EQ(s.n_rows, 2);
	CHECK_EQ(s.rows[0].pid, 1234);
	CHECK_EQ(s.rows[0].inter_shared, 10000);
	CHECK(!strcmp(s.rows[1].comm, "my vm with spaces"));
	vms_free(&s);

	/* an added column before comm; huge but valid numbers */
	CHECK_EQ(parse("ksm_vmshare - version: 1\n# state: degraded nomem\n"
		       "# ksm_pages: 9223372036854775807\n# ksm_mappings: 0\n"
		       "# full_scans_seen: 0\n"
		       "# pid unique self_shared inter_shared ksm_mapped predicted_freed extra comm\n"
		       "5 4611686018427387903 4611686018427387904 0 0 9223372036854775807 42 big\n",
		       &s, err), 0);
	CHECK(!vms_exact(&s));
	CHECK_EQ(s.rows[0].predicted_freed, 9223372036854775807LL);
	vms_free(&s);

	/* no rows at all */
	CHECK_EQ(parse(HEAD COLS, &s, err), 0);
	CHECK_EQ(s.n_rows, 0);
	vms_free(&s);
}

static const struct {
	const char *text, *error;
} bad[] = {
	{ "", "empty file" },
	{ "hello\n", "line 1: not a ksm_vmshare file" },
	{ "ksm_vmshare - version: 2\n", "line 1: unknown version 2" },
	{ "ksm_vmshare - version: x\n", "line 1: bad version" },
	{ HEAD, "no column line" },
	{ "ksm_vmshare - version: 1\n# state: tracking\n" COLS,
	  "line 3: header lacks 'ksm_pages'" },
	{ HEAD "# state: tracking\n", "line 6: header key 'state' twice" },
	{ HEAD "#novalue\n", "line 6: header line is not '# key: value'" },
	{ HEAD "# bad key: 1\n", "line 6: bad header key" },
	{ "ksm_vmshare - version: 1\n# state: sleeping\n", "line 2: unknown state" },
	{ "ksm_vmshare - version: 1\n# state: tracking\n# ksm_pages: -1\n",
	  "line 3: ksm_pages: '-1' is not a count" },
	{ HEAD "# pid unique comm\n", "line 6: column line lacks 'self_shared'" },
	{ HEAD "# pid unique self_shared inter_shared ksm_mapped comm predicted_freed\n",
	  "'comm' must be the last column" },
	{ HEAD COLS COLS, "line 7: a second column line" },
	{ HEAD COLS "# late: 1\n", "line 7: header line after the column line" },
	{ HEAD "1 2 3 4 5 5 x\n", "line 6: a row before the column line" },
	{ HEAD COLS "1 2 3\n", "line 7: 3 fields, expected 7" },
	{ HEAD COLS "1 2 x 4 5 5 c\n", "line 7: self_shared: 'x' is not a count" },
	{ HEAD COLS "1 2 3 4 5 6 c\n", "line 7: predicted_freed 6 is not unique + self_shared" },
	{ HEAD COLS "0 2 3 4 5 5 c\n", "line 7: pid 0 out of range" },
	{ HEAD COLS "1 99999999999999999999 0 0 0 0 c\n", "unique: '99999999999999999999' is not a count" },
	{ HEAD COLS "1 2 3 4 5 5 \n", "line 7: empty comm" },
	{ HEAD COLS "1 2 3 4 5 5 a\n1 2 3 4 5 5 b\n", "line 8: pid 1 twice" },
};

static void test_parse_bad(void)
{
	struct vms_snapshot s;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(parse(bad[i].text, &s, err), -1);
		if (!strstr(err, bad[i].error)) {
			fprintf(stderr, "case %zu: error '%s', want '%s'\n", i,
				err, bad[i].error);
			CHECK(0);
		}
	}
}

#define CMD(s) s, sizeof(s) - 1

static void test_names(void)
{
	char name[64];

	CHECK(vmname_is_qemu(CMD("/usr/bin/qemu-system-x86_64\0-m\0001G\0")));
	CHECK(vmname_is_qemu(CMD("qemu-kvm\0")));
	CHECK(!vmname_is_qemu(CMD("/usr/bin/vmload\0run\0")));
	CHECK(!vmname_is_qemu("", 0));
	/* libvirt's form */
	CHECK(vmname_from_cmdline(CMD("qemu-system-x86_64\0-name\0guest=web01,debug-threads=on\0-m\0002G\0"),
				  name, sizeof(name)));
	CHECK(!strcmp(name, "web01"));
	/* plain form, with an escaped comma, and process= after it */
	CHECK(vmname_from_cmdline(CMD("qemu-system-x86_64\0-name\0db,,primary,process=qemu-db\0"),
				  name, sizeof(name)));
	CHECK(!strcmp(name, "db,primary"));
	/* guest= after another key */
	CHECK(vmname_from_cmdline(CMD("qemu-system-x86_64\0--name\0process=p,guest=cache\0"),
				  name, sizeof(name)));
	CHECK(!strcmp(name, "cache"));
	/* no -name, or -name last without a value */
	CHECK(!vmname_from_cmdline(CMD("qemu-system-x86_64\0-m\0001G\0"), name, sizeof(name)));
	CHECK(!vmname_from_cmdline(CMD("qemu-system-x86_64\0-name\0"), name, sizeof(name)));
	CHECK(!vmname_from_cmdline(CMD("qemu-system-x86_64\0-name\0process=x\0"), name, sizeof(name)));
}

static struct vm_entry vm(long pid, long long freed, long long moved)
{
	struct vm_entry e;

	memset(&e, 0, sizeof(e));
	e.row.pid = pid;
	e.row.predicted_freed = freed;
	e.row.unique = freed;
	e.moved = moved;
	return e;
}

static void test_sort_and_victim(void)
{
	struct vm_entry v[5] = {
		vm(30, 100, 500), vm(10, 100, 500), vm(20, 100, 400),
		vm(40, 300, 900), vm(50, 0, 10),
	};

	select_sort(v, 5);
	CHECK_EQ(v[0].row.pid, 40);	/* most freed */
	CHECK_EQ(v[1].row.pid, 20);	/* tie: less moved */
	CHECK_EQ(v[2].row.pid, 10);	/* tie: lower pid */
	CHECK_EQ(v[3].row.pid, 30);
	CHECK_EQ(v[4].row.pid, 50);
	CHECK(select_victim(v, 5) == &v[0]);
	CHECK(select_victim(v, 0) == NULL);
	CHECK(select_victim(&v[4], 1) == NULL);	/* frees nothing */
}

static void test_need(void)
{
	struct vm_entry v[4] = {
		vm(1, 600, 1000), vm(2, 500, 300), vm(3, 450, 300), vm(4, 0, 5),
	};
	unsigned char chosen[4];
	struct need_result r = { .chosen = chosen };

	/* 2 + 3 free 950 moving 600; 1 alone frees 600 moving 1000 */
	CHECK_EQ(select_need(v, 4, 900, &r), 0);
	CHECK(r.found && r.exact_search);
	CHECK_EQ(r.count, 2);
	CHECK(!chosen[0] && chosen[1] && chosen[2] && !chosen[3]);
	CHECK_EQ(r.freed, 950);
	CHECK_EQ(r.moved, 600);
	/* 550: 2 + 3 (600 moved) beats 1 (1000) and ties nothing */
	CHECK_EQ(select_need(v, 4, 550, &r), 0);
	CHECK(chosen[1] && chosen[2] && !chosen[0]);
	/* 400: one VM of 300 moved; the lower index wins the tie */
	CHECK_EQ(select_need(v, 4, 400, &r), 0);
	CHECK_EQ(r.count, 1);
	CHECK_EQ(r.moved, 300);
	/* more than all together */
	CHECK_EQ(select_need(v, 4, 1551, &r), 0);
	CHECK(!r.found);
	CHECK_EQ(select_need(v, 4, 1550, &r), 0);
	CHECK(r.found && r.count == 3);
}

static void test_need_many(void)
{
	static struct vm_entry v[100];
	static unsigned char chosen[100];
	struct need_result r = { .chosen = chosen };
	int i;

	for (i = 0; i < 100; i++)
		v[i] = vm(i + 1, 10 + i, 100);
	/* over 64 VMs the search is greedy: the largest frees per move first */
	CHECK_EQ(select_need(v, 100, 300, &r), 0);
	CHECK(r.found && !r.exact_search);
	CHECK_EQ(r.count, 3);
	CHECK(chosen[99] && chosen[98] && chosen[97]);
	/* exact search over many equal VMs stays small after pruning */
	CHECK_EQ(select_need(v, 64, 500, &r), 0);
	CHECK(r.found && r.exact_search);
	CHECK_EQ(r.count, 8);	/* the top 7 free 490 */
}

int main(void)
{
	test_parse_good();
	test_parse_bad();
	test_names();
	test_sort_and_victim();
	test_need();
	test_need_many();
	return unit_report("test_victim");
}
