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
		       "18 0 0 0 0 0 \\134012\n"
		       "19 0 0 0 0 0 \n"
		       "20 0 0 0 0 0 \\303\\274\\342\\202\\254\n", &s, err), 0);
	CHECK_EQ(s.n_rows, 11);
	CHECK(!strcmp(s.rows[0].comm, "evil\nname"));
	CHECK(!strcmp(s.rows[1].comm, "a\tb"));
	CHECK(!strcmp(s.rows[2].comm, "back\\slash"));
	CHECK(!strcmp(s.rows[3].comm, "two  spaces "));
	CHECK(!strcmp(s.rows[4].comm, "say \"hi\""));
	CHECK(!strcmp(s.rows[5].comm, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac"));
	CHECK_EQ(strlen(s.rows[6].comm), 15);
	CHECK(!strcmp(s.rows[7].comm, "\033[2J\377\200"));
	CHECK(!strcmp(s.rows[8].comm, "\\012"));
	/* an empty name (anyone may set one), and UTF-8 escaped byte by byte */
	CHECK(!strcmp(s.rows[9].comm, ""));
	CHECK(!strcmp(s.rows[10].comm, "\xc3\xbc\xe2\x82\xac"));
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
	{ SETS_HEAD SETS_COLS "5 1,2\n6 1,2\n", "line 6: the same pids as line 5" },
	{ SETS_HEAD SETS_COLS "5 3\n5 1,2\n6 1\n7 2\n8 3\n", "line 9: the same pids as line 5" },
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
	/* messages keep backslashes: they quote the file's own escapes */
	text_message("comm 'a\\01x\033[2J\n'", buf, sizeof(buf));
	CHECK(!strcmp(buf, "comm 'a\\01x\\033[2J\\012'"));
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

/* A VM of the sets tests: unique, self_shared, inter_shared, ksm_mapped. */
static struct vm_entry vm4(long pid, long long unique, long long self,
			   long long inter, long long mapped)
{
	struct vm_entry e;

	memset(&e, 0, sizeof(e));
	e.row.pid = pid;
	e.row.unique = unique;
	e.row.self_shared = self;
	e.row.inter_shared = inter;
	e.row.ksm_mapped = mapped;
	e.row.predicted_freed = unique + self;
	e.moved = unique + mapped;
	return e;
}

static void sets_of(const char *text, struct vms_sets *s)
{
	char err[256];

	if (parse_sets(text, s, err)) {
		fprintf(stderr, "sets: %s\n", err);
		exit(2);
	}
}

/*
 * Two clones of one template (pids 1, 2) share 10000 pages only with each
 * other; each has 1000 of its own. A third VM (3) has 30000 of its own.
 * Per-VM sums: 1 and 2 free 1000 each, so 12000 takes VM 3 (moving
 * 30000). Exactly: 1 and 2 together free 12000, moving 22000.
 */
static void test_need_clones(void)
{
	struct vm_entry v[3] = {
		vm4(3, 30000, 0, 0, 0),
		vm4(1, 1000, 0, 10000, 10000),
		vm4(2, 1000, 0, 10000, 10000),
	};
	unsigned char chosen[3];
	struct need_result r = { .chosen = chosen };
	struct sets_view view;
	struct vms_sets s;
	int exact;

	sets_of(SETS_HEAD SETS_COLS "10000 1,2\n", &s);
	CHECK_EQ(select_need(v, 3, 12000, &r), 0);
	CHECK(r.found && chosen[0] && !chosen[1] && !chosen[2]);
	CHECK(!r.from_sets && !r.freed_exact);
	CHECK_EQ(sets_view_build(v, 3, &s, 1, &view), 0);
	CHECK_EQ(view.n_lines, 1);
	CHECK_EQ(select_need_sets(v, &view, 12000, &r), 0);
	CHECK(r.found && r.exact_search && r.from_sets && r.freed_exact);
	CHECK(!chosen[0] && chosen[1] && chosen[2]);
	CHECK_EQ(r.freed, 12000);
	CHECK_EQ(r.moved, 22000);
	/* 40000: per-VM sums say no set does it; all three free 42000 */
	CHECK_EQ(select_need(v, 3, 40000, &r), 0);
	CHECK(!r.found);
	CHECK_EQ(select_need_sets(v, &view, 40000, &r), 0);
	CHECK(r.found && r.count == 3 && r.freed == 42000);
	CHECK_EQ(select_need_sets(v, &view, 42001, &r), 0);
	CHECK(!r.found && !chosen[0] && !chosen[1] && !chosen[2]);
	/* the heuristic finds the pair too */
	select_exact_max = 0;
	CHECK_EQ(select_need_sets(v, &view, 12000, &r), 0);
	CHECK(r.found && !r.exact_search && !chosen[0] && chosen[1] && chosen[2]);
	CHECK_EQ(r.freed, 12000);
	select_exact_max = SELECT_EXACT_MAX;
	chosen[0] = 1, chosen[1] = 1, chosen[2] = 0;
	CHECK_EQ(select_freed(v, &view, chosen, &exact), 31000);
	CHECK(exact);
	sets_view_free(&view);
	/* without VM 2 among the candidates the pair's pages never go */
	CHECK_EQ(sets_view_build(v, 2, &s, 0, &view), 0);
	CHECK_EQ(view.n_lines, 0);
	sets_view_free(&view);
	vms_sets_free(&s);
}

/* "*": more than max_members (3) VMs; freed only when every VM goes. */
static void test_need_star(void)
{
	struct vm_entry v[5];
	unsigned char chosen[5];
	struct need_result r = { .chosen = chosen };
	struct sets_view view;
	struct vms_sets s;
	int i;

	for (i = 0; i < 5; i++)
		v[i] = vm4(i + 1, 100, 0, 50, 50);
	sets_of(SETS_HEAD SETS_COLS "50 *\n", &s);
	CHECK_EQ(sets_view_build(v, 5, &s, 1, &view), 0);
	/* 400: any four; 4 > max_members, so the "*" pages may be theirs */
	CHECK_EQ(select_need_sets(v, &view, 400, &r), 0);
	CHECK(r.found && r.count == 4 && r.freed == 400 && !r.freed_exact);
	/* 550: all five, and then "*" is freed, exactly */
	CHECK_EQ(select_need_sets(v, &view, 550, &r), 0);
	CHECK(r.found && r.count == 5 && r.freed == 550 && r.freed_exact);
	/* 300: three VMs, no more than max_members: exact */
	CHECK_EQ(select_need_sets(v, &view, 300, &r), 0);
	CHECK(r.found && r.count == 3 && r.freed_exact);
	sets_view_free(&view);
	/* not everyone (an unowned mm, or VMs not shown): never */
	CHECK_EQ(sets_view_build(v, 5, &s, 0, &view), 0);
	CHECK_EQ(select_need_sets(v, &view, 550, &r), 0);
	CHECK(!r.found);
	CHECK_EQ(select_need_sets(v, &view, 500, &r), 0);
	CHECK(r.found && r.freed == 500 && !r.freed_exact);
	sets_view_free(&view);
	vms_sets_free(&s);
}

static unsigned long long rng_state = 88172645463325252ULL;

static unsigned long long rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A random host: n VMs, some lines; its sets text in buf. */
static void random_host(struct vm_entry *v, int n, char *buf, size_t len)
{
	long long inter[16] = { 0 }, self[16] = { 0 };
	int used[1 << 10] = { 0 }, i, k, lines = (int)(rng() % 12);
	size_t off;

	off = snprintf(buf, len, "ksm_vmshare_sets - version: 1\n# state: tracking\n"
		       "# max_members: 64\n# pages pids\n");
	for (k = 0; k < lines; k++) {
		unsigned int mask = (unsigned int)(rng() % ((1u << n) - 1)) + 1;
		long long pages = (long long)(rng() % 500) + 1;
		const char *sep = "";

		if (used[mask]++)
			continue;
		off += snprintf(buf + off, len - off, "%lld ", pages);
		for (i = 0; i < n; i++) {
			if (!(mask >> i & 1))
				continue;
			off += snprintf(buf + off, len - off, "%s%d", sep, i + 1);
			sep = ",";
			if (mask == 1u << i)
				self[i] += pages;
			else
				inter[i] += pages;
		}
		off += snprintf(buf + off, len - off, "\n");
	}
	for (i = 0; i < n; i++)
		v[i] = vm4(i + 1, (long long)(rng() % 1000), self[i], inter[i],
			   self[i] + inter[i] + (long long)(rng() % 300));
}

/*
 * The exact search against every subset counted one by one, and the
 * heuristic against the exact answer, on random hosts of up to 10 VMs.
 */
static void test_need_random(void)
{
	static char text[8192];
	struct vm_entry v[10];
	unsigned char chosen[10], heur[10], probe[10];
	struct need_result r = { .chosen = chosen }, h = { .chosen = heur };
	int round, optimal = 0, rounds = 400, bad_exact = 0, bad_heur = 0;

	for (round = 0; round < rounds; round++) {
		int n = 1 + (int)(rng() % 10), i, exact;
		unsigned int s, best = 0;
		long long need, total, best_moved = 0, best_freed = 0;
		int best_count = 0;
		struct sets_view view;
		struct vms_sets sets;

		random_host(v, n, text, sizeof(text));
		sets_of(text, &sets);
		if (sets_view_build(v, n, &sets, 1, &view))
			exit(2);
		memset(probe, 1, n);
		total = select_freed(v, &view, probe, &exact);
		need = 1 + (long long)(rng() % (total + 100));
		for (s = 1; s < 1u << n; s++) {
			long long f, moved = 0;
			int count = 0;

			for (i = 0; i < n; i++) {
				probe[i] = s >> i & 1;
				if (probe[i]) {
					moved += v[i].moved;
					count++;
				}
			}
			f = select_freed(v, &view, probe, &exact);
			if (f < need)
				continue;
			if (!best || moved < best_moved ||
			    (moved == best_moved && (count < best_count ||
			     (count == best_count && f > best_freed)))) {
				best = s;
				best_moved = moved;
				best_count = count;
				best_freed = f;
			}
		}
		CHECK_EQ(select_need_sets(v, &view, need, &r), 0);
		for (i = 0; i < n; i++)
			if (chosen[i] != (best >> i & 1))
				break;
		if (r.found != (best != 0) || i < n ||
		    (best && (r.freed != best_freed || r.moved != best_moved)))
			bad_exact++;
		select_exact_max = 0;
		CHECK_EQ(select_need_sets(v, &view, need, &h), 0);
		select_exact_max = SELECT_EXACT_MAX;
		/* valid, never cheaper than the optimum, found when one exists */
		if (h.found != r.found ||
		    (h.found && (select_freed(v, &view, heur, &exact) < need ||
				 h.freed < need || h.moved < r.moved)))
			bad_heur++;
		optimal += h.found && h.moved == r.moved;
		optimal += !h.found && !r.found;
		sets_view_free(&view);
		vms_sets_free(&sets);
	}
	CHECK_EQ(bad_exact, 0);
	CHECK_EQ(bad_heur, 0);
	printf("test_victim: the heuristic was optimal on %d of %d random hosts\n",
	       optimal, rounds);
}

/*
 * Past SELECT_EXACT_MAX VMs: 30 VMs, two of them clones that free 12000
 * together moving 22000; each other VM frees 20000 or more moving 30000.
 */
static void test_need_heuristic_many(void)
{
	static struct vm_entry v[30];
	unsigned char chosen[30];
	struct need_result r = { .chosen = chosen };
	struct sets_view view;
	struct vms_sets s;
	int i;

	for (i = 0; i < 28; i++)
		v[i] = vm4(100 + i, 20000 + i, 0, 0, 10000);
	v[28] = vm4(7, 1000, 0, 10000, 10000);
	v[29] = vm4(8, 1000, 0, 10000, 10000);
	sets_of(SETS_HEAD SETS_COLS "10000 7,8\n", &s);
	CHECK_EQ(sets_view_build(v, 30, &s, 1, &view), 0);
	CHECK_EQ(select_need_sets(v, &view, 12000, &r), 0);
	CHECK(r.found && !r.exact_search && r.candidates == 30);
	CHECK(r.count == 2 && chosen[28] && chosen[29]);
	CHECK(r.freed == 12000 && r.freed_exact);
	/* 20000: the smallest single VM (20000, moving 30000) */
	CHECK_EQ(select_need_sets(v, &view, 20000, &r), 0);
	CHECK(r.found && r.count == 1 && chosen[0] && r.moved == 30000);
	/*
	 * 32000: the pair and a single VM. The best is the smallest (moving
	 * 52000 in all); the heuristic takes the one with the most freed per
	 * page moved first (20027 for 30027): not always the cheapest.
	 */
	CHECK_EQ(select_need_sets(v, &view, 32000, &r), 0);
	CHECK(r.found && r.count == 3 && chosen[28] && chosen[29]);
	CHECK(r.moved >= 52000 && r.moved <= 52027 && r.freed >= 32000);
	sets_view_free(&view);
	vms_sets_free(&s);
}

static void test_sets_check(void)
{
	struct vms_snapshot snap;
	struct vms_sets s;
	char err[256], why[256];

	CHECK_EQ(parse(HEAD COLS "1 10 5 7 12 15 a\n2 10 0 7 7 10 b\n3 1 0 0 0 1 c\n",
		       &snap, err), 0);
	sets_of(SETS_HEAD SETS_COLS "5 1\n7 1,2\n", &s);
	CHECK(!select_sets_check(&snap, &s, why, sizeof(why)));
	vms_sets_free(&s);
	sets_of(SETS_HEAD SETS_COLS "4 1\n7 1,2\n", &s);
	CHECK(select_sets_check(&snap, &s, why, sizeof(why)) &&
	      strstr(why, "pid 1: self_shared 5, but its own set has 4 pages"));
	vms_sets_free(&s);
	sets_of(SETS_HEAD SETS_COLS "5 1\n6 1,2\n", &s);
	CHECK(select_sets_check(&snap, &s, why, sizeof(why)) &&
	      strstr(why, "pid 1: self_shared + inter_shared 12, but its sets add up to 11 pages"));
	vms_sets_free(&s);
	/* with a "*" line, the named sets may add up to less */
	sets_of(SETS_HEAD SETS_COLS "5 1\n6 1,2\n1 *\n", &s);
	CHECK(!select_sets_check(&snap, &s, why, sizeof(why)));
	vms_sets_free(&s);
	sets_of(SETS_HEAD SETS_COLS "5 1\n7 1,2\n3 4\n", &s);
	CHECK(select_sets_check(&snap, &s, why, sizeof(why)) &&
	      strstr(why, "pid 4 has a set but no row"));
	vms_sets_free(&s);
	vms_free(&snap);
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
	test_need_clones();
	test_need_star();
	test_need_random();
	test_need_heuristic_many();
	test_sets_check();
	return unit_report("test_victim");
}
