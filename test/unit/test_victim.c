// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of ksm-victim's parts: the strict readers, naming, escaping,
 * selection with and without the sets file.
 */
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "textsafe.h"
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
	/* comm escapes: exactly three octal digits, \001 to \377 */
	{ HEAD COLS "1 2 3 4 5 5 a\\n\n", "line 7: comm 'a\\n': malformed escape" },
	{ HEAD COLS "1 2 3 4 5 5 a\\01\n", "line 7: comm 'a\\01': malformed escape" },
	{ HEAD COLS "1 2 3 4 5 5 a\\018\n", "malformed escape" },
	{ HEAD COLS "1 2 3 4 5 5 \\400\n", "malformed escape" },
	{ HEAD COLS "1 2 3 4 5 5 a\\\n", "malformed escape" },
	{ HEAD COLS "1 2 3 4 5 5 a\\000b\n", "line 7: comm 'a\\000b': escaped NUL" },
	{ HEAD COLS "1 2 3 4 5 5 a\tb\n", "line 7: comm 'a\tb': unescaped control character" },
	{ HEAD COLS "1 2 3 4 5 5 a\033[2J\n", "unescaped control character" },
	{ HEAD COLS "1 2 3 4 5 5 a\r\n", "unescaped control character" },
	{ HEAD COLS "1 2 3 4 5 5 0123456789012345678901234567890123456789012345678901234567890123\n",
	  "line 7: comm '0123456789012345678901234567890123456789012345678901234567890123': too long" },
	/* header keys: any key at most once, known counts are counts */
	{ HEAD "# vms: 1\n# vms: 2\n", "line 7: header key 'vms' twice" },
	{ HEAD "# verified_scans: many\n", "line 6: verified_scans: 'many' is not a count" },
	{ HEAD "# unowned_vms: -1\n", "line 6: unowned_vms: '-1' is not a count" },
	{ HEAD "# unowned_mappings: 1 2\n", "unowned_mappings: '1 2' is not a count" },
	{ HEAD "# empty: \n", "line 6: header key 'empty' has no value" },
	{ HEAD "# ctl: a\033b\n", "line 6: ctl: control character in the value" },
	{ "ksm_vmshare - version: 1\n# state: degraded\n# state2: x\n# state: y\n",
	  "line 4: header key 'state' twice" },
	{ "ksm_vmshare - version: 1\n# state: degradedfoo\n", "line 2: unknown state 'degradedfoo'" },
	{ "ksm_vmshare - version: 1\n# state: tracking \n", "unknown state" },
	{ HEAD COLS "\n", "line 7: 1 fields, expected 7" },
	{ HEAD COLS "1 2 3 4 5 5 a\n \n", "line 8: " },
	{ HEAD COLS "-1 2 3 4 5 5 c\n", "line 7: pid: '-1' is not a count" },
	{ HEAD COLS "2147483648 0 0 0 0 0 c\n", "line 7: pid 2147483648 out of range" },
	{ "ksm_vmshare_sets - version: 1\n", "line 1: not a ksm_vmshare file" },
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

static void test_comm_escapes(void)
{
	struct vms_snapshot s;
	char err[256];

	/* newline, tab, backslash, spaces, quote, UTF-8, 15 bytes, \377 */
	CHECK_EQ(parse(HEAD COLS
		       "10 0 0 0 0 0 evil\\012name\n"
		       "11 0 0 0 0 0 a\\011b\n"
		       "12 0 0 0 0 0 back\\134slash\n"
		       "13 0 0 0 0 0 two  spaces \n"
		       "14 0 0 0 0 0 say \"hi\"\n"
		       "15 0 0 0 0 0 gr\xc3\xbc\xc3\x9f \xe2\x82\xac\n"
		       "16 0 0 0 0 0 qemu-system-x86\n"
		       "17 0 0 0 0 0 \\033[2J\\377\\200\n"
		       "18 0 0 0 0 0 \\134012\n", &s, err), 0);
	CHECK_EQ(s.n_rows, 9);
	CHECK(!strcmp(s.rows[0].comm, "evil\nname"));
	CHECK(!strcmp(s.rows[1].comm, "a\tb"));
	CHECK(!strcmp(s.rows[2].comm, "back\\slash"));
	CHECK(!strcmp(s.rows[3].comm, "two  spaces "));
	CHECK(!strcmp(s.rows[4].comm, "say \"hi\""));
	CHECK(!strcmp(s.rows[5].comm, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac"));
	CHECK_EQ(strlen(s.rows[6].comm), 15);
	CHECK(!strcmp(s.rows[7].comm, "\033[2J\377\200"));
	CHECK(!strcmp(s.rows[8].comm, "\\012"));
	vms_free(&s);
}

static void test_headers(void)
{
	struct vms_snapshot s;
	char err[256];

	CHECK_EQ(parse(HEAD "# verified_scans: 12\n# unowned_vms: 1\n"
		       "# unowned_mappings: 300\n# future_key: a \"quoted\" \\ value\n"
		       "# future_count: 0042\n" COLS, &s, err), 0);
	CHECK_EQ(s.verified_scans, 12);
	CHECK_EQ(s.unowned_vms, 1);
	CHECK_EQ(s.unowned_mappings, 300);
	CHECK_EQ(s.n_headers, 9);
	CHECK(!strcmp(s.headers[0].key, "state") && !s.headers[0].numeric);
	CHECK(!strcmp(s.headers[1].key, "ksm_pages") && s.headers[1].numeric &&
	      s.headers[1].number == 4);
	CHECK(!strcmp(s.headers[7].key, "future_key") && !s.headers[7].numeric);
	CHECK(!strcmp(s.headers[7].value, "a \"quoted\" \\ value"));
	CHECK(s.headers[8].numeric && s.headers[8].number == 42);
	vms_free(&s);
	/* the optional counts, absent */
	CHECK_EQ(parse(HEAD COLS, &s, err), 0);
	CHECK_EQ(s.verified_scans, -1);
	CHECK_EQ(s.unowned_vms, -1);
	CHECK_EQ(s.unowned_mappings, -1);
	CHECK_EQ(s.n_headers, 4);
	vms_free(&s);
}

#define SETS_HEAD "ksm_vmshare_sets - version: 1\n# state: tracking\n# max_members: 3\n"
#define SETS_COLS "# pages pids\n"

static int parse_sets(const char *text, struct vms_sets *s, char *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f)
		exit(2);
	err[0] = '\0';
	ret = vms_sets_parse(f, s, err, 256);
	fclose(f);
	return ret;
}

static const struct {
	const char *text, *error;
} bad_sets[] = {
	{ "", "empty file" },
	{ "ksm_vmshare - version: 1\n", "line 1: not a ksm_vmshare_sets file" },
	{ "ksm_vmshare_sets - version: 2\n", "line 1: unknown version 2" },
	{ "ksm_vmshare_sets - version: 1\n# state: tracking\n" SETS_COLS,
	  "line 3: header lacks 'max_members'" },
	{ "ksm_vmshare_sets - version: 1\n# state: tracking\n# max_members: 0\n" SETS_COLS,
	  "line 4: max_members 0 out of range" },
	{ SETS_HEAD, "no column line ('# pages ...')" },
	{ SETS_HEAD "# pids pages\n", "line 4: header line is not '# key: value'" },
	{ SETS_HEAD "# pages extra\n", "line 4: column line lacks 'pids'" },
	{ SETS_HEAD "# pages pids extra\n", "'pids' must be the last column" },
	{ SETS_HEAD SETS_COLS "0 1\n", "line 5: a set of 0 pages" },
	{ SETS_HEAD SETS_COLS "5 0\n", "line 5: pid 0 out of range" },
	{ SETS_HEAD SETS_COLS "5 2,1\n", "line 5: pids not ascending at 1" },
	{ SETS_HEAD SETS_COLS "5 1,1\n", "line 5: pids not ascending at 1" },
	{ SETS_HEAD SETS_COLS "5 1,,2\n", "line 5: pids: '' is not a pid" },
	{ SETS_HEAD SETS_COLS "5 1,\n", "line 5: pids: '' is not a pid" },
	{ SETS_HEAD SETS_COLS "5 1 2\n", "line 5: pids: '1 2' is not a pid" },
	{ SETS_HEAD SETS_COLS "5 x\n", "line 5: pids: 'x' is not a pid" },
	{ SETS_HEAD SETS_COLS "5\n", "line 5: 1 fields, expected 2" },
	{ SETS_HEAD SETS_COLS "5 1,2,3,4\n", "line 5: 4 pids, more than max_members 3" },
	{ SETS_HEAD SETS_COLS "5 *\n6 *\n", "line 6: a second '*' line" },
	{ SETS_HEAD SETS_COLS "5 1,2\n6 1,2\n", "line 6: the same pids on two lines" },
	{ SETS_HEAD SETS_COLS "x 1\n", "line 5: pages: 'x' is not a count" },
	{ SETS_HEAD SETS_COLS "# late: 1\n", "line 5: header line after the column line" },
};

static void test_sets_parse(void)
{
	struct vms_sets s;
	char err[256];
	size_t i;

	CHECK_EQ(parse_sets("ksm_vmshare_sets - version: 1\n# state: tracking\n"
			    "# max_members: 64\n# other: x y\n# pages pids\n"
			    "812 1234\n40 1234,1301\n2210 1234,1301,1377\n7 *\n",
			    &s, err), 0);
	CHECK(!strcmp(s.state, "tracking"));
	CHECK_EQ(s.max_members, 64);
	CHECK_EQ(s.n_headers, 3);
	CHECK_EQ(s.n_sets, 4);
	CHECK_EQ(s.sets[0].pages, 812);
	CHECK_EQ(s.sets[0].n_pids, 1);
	CHECK_EQ(s.sets[2].n_pids, 3);
	CHECK_EQ(s.sets[2].pids[2], 1377);
	CHECK(s.sets[3].star && s.sets[3].n_pids == 0);
	CHECK_EQ(s.star_pages, 7);
	vms_sets_free(&s);
	/* no lines at all */
	CHECK_EQ(parse_sets(SETS_HEAD SETS_COLS, &s, err), 0);
	CHECK_EQ(s.n_sets, 0);
	vms_sets_free(&s);

	for (i = 0; i < sizeof(bad_sets) / sizeof(bad_sets[0]); i++) {
		CHECK_EQ(parse_sets(bad_sets[i].text, &s, err), -1);
		if (!strstr(err, bad_sets[i].error)) {
			fprintf(stderr, "sets case %zu: error '%s', want '%s'\n",
				i, err, bad_sets[i].error);
			CHECK(0);
		}
	}
}

static void test_textsafe(void)
{
	char buf[256];
	char *text;
	size_t len;
	FILE *f;

	/* a terminal sees no control character, only \ooo */
	CHECK_EQ(text_terminal("evil\nname", buf, sizeof(buf)), 12);
	CHECK(!strcmp(buf, "evil\\012name"));
	text_terminal("a\tb\\c\033[2J\x7f", buf, sizeof(buf));
	CHECK(!strcmp(buf, "a\\011b\\134c\\033[2J\\177"));
	/* UTF-8 as is, one column a character; C1 and invalid bytes escaped */
	CHECK_EQ(text_terminal("gr\xc3\xbc\xc3\x9f", buf, sizeof(buf)), 4);
	CHECK(!strcmp(buf, "gr\xc3\xbc\xc3\x9f"));
	text_terminal("\xc2\x9b" "1m\xff\xc3", buf, sizeof(buf));
	CHECK(!strcmp(buf, "\\302\\2331m\\377\\303"));
	/* a right-to-left override, an overlong '/', a surrogate */
	text_terminal("a\xe2\x80\xae" "b\xc0\xaf\xed\xa0\x80", buf, sizeof(buf));
	CHECK(!strcmp(buf, "a\\342\\200\\256b\\300\\257\\355\\240\\200"));
	/* cut at a whole character or escape */
	text_terminal("abc\ndef", buf, 6);
	CHECK(!strcmp(buf, "abc"));
	text_terminal("\xe2\x82\xac\xe2\x82\xac", buf, 5);
	CHECK(!strcmp(buf, "\xe2\x82\xac"));

	f = open_memstream(&text, &len);
	text_json(f, "q\"b\\n\nt\tc\001\x7f \xc3\xa9\xff/");
	fclose(f);
	CHECK(!strcmp(text, "\"q\\\"b\\\\n\\nt\\tc\\u0001\\u007f \xc3\xa9\\ufffd/\""));
	free(text);

	f = open_memstream(&text, &len);
	text_prom_label(f, "q\"b\\n\nt\t\xc3\xa9\xff");
	fclose(f);
	CHECK(!strcmp(text, "\"q\\\"b\\\\n\\nt\t\xc3\xa9\xef\xbf\xbd\""));
	free(text);
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
	/* libvirt's escape: foo=1,bar=2 is written guest=foo=1,,bar=2 */
	CHECK(vmname_from_cmdline(CMD("/usr/bin/qemu-system-x86_64\0-name\0guest=foo=1,,bar=2,debug-threads=on\0"),
				  name, sizeof(name)));
	CHECK(!strcmp(name, "foo=1,bar=2"));
	/* a trailing doubled comma, and a name that is only commas */
	CHECK(vmname_from_cmdline(CMD("qemu-kvm\0-name\0guest=a,,,debug-threads=on\0"), name, sizeof(name)));
	CHECK(!strcmp(name, "a,"));
	CHECK(vmname_from_cmdline(CMD("qemu-kvm\0-name\0guest=,,,,\0"), name, sizeof(name)));
	CHECK(!strcmp(name, ",,"));
	/* a long name is cut, not lost */
	CHECK(vmname_from_cmdline(CMD("qemu-kvm\0-name\0guest=0123456789abcdef\0"), name, 8));
	CHECK(!strcmp(name, "0123456"));
}

static void test_uuid(void)
{
	char uuid[VMNAME_UUID_LEN + 1];

	CHECK(vmname_uuid_from_cmdline(CMD("qemu-system-x86_64\0-name\0guest=a\0-uuid\0c7a5fdbd-edaf-9455-926a-d65c16db1809\0-m\0001\0"),
				       uuid));
	CHECK(!strcmp(uuid, "c7a5fdbd-edaf-9455-926a-d65c16db1809"));
	CHECK(vmname_uuid_from_cmdline(CMD("qemu-kvm\0--uuid\0C7A5FDBD-EDAF-9455-926A-D65C16DB1809\0"), uuid));
	CHECK(!strcmp(uuid, "C7A5FDBD-EDAF-9455-926A-D65C16DB1809"));
	/* none, last without a value, or not a UUID */
	CHECK(!vmname_uuid_from_cmdline(CMD("qemu-kvm\0-m\0001\0"), uuid));
	CHECK(!vmname_uuid_from_cmdline(CMD("qemu-kvm\0-uuid\0"), uuid));
	CHECK(!vmname_uuid_from_cmdline(CMD("qemu-kvm\0-uuid\0c7a5fdbd-edaf-9455-926a-d65c16db180\0"), uuid));
	CHECK(!vmname_uuid_from_cmdline(CMD("qemu-kvm\0-uuid\0c7a5fdbdxedaf-9455-926a-d65c16db1809\0"), uuid));
	CHECK(!vmname_uuid_from_cmdline(CMD("qemu-kvm\0-uuid\0g7a5fdbd-edaf-9455-926a-d65c16db1809\0"), uuid));
	CHECK(!vmname_uuid_from_cmdline(CMD("qemu-kvm\0-uuid\0\"c7a5fdbd-edaf-9455-926a-d65c16db18\"\0"), uuid));
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
	test_comm_escapes();
	test_headers();
	test_sets_parse();
	test_textsafe();
	test_names();
	test_uuid();
	test_sort_and_victim();
	test_need();
	test_need_many();
	return unit_report("test_victim");
}
