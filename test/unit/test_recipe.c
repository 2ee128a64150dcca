// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the recipe parser, layout, contents and expectation. */
#include <stdlib.h>
#include <string.h>

#include "recipe.h"
#include "unit.h"

static int parse(const char *text, struct recipe *r, char *err, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f) {
		perror("fmemopen");
		exit(2);
	}
	ret = recipe_parse(f, r, err, len);
	fclose(f);
	return ret;
}

static struct recipe r;

static void expect_of(const char *text, int upto, struct recipe_expect *e)
{
	char err[256] = "";

	if (parse(text, &r, err, sizeof(err))) {
		fprintf(stderr, "unexpected parse error: %s\n", err);
		exit(2);
	}
	CHECK_EQ(recipe_expect(&r, upto, RECIPE_MAX_PAGE_SHARING, e), 0);
}

static void check_vm(const struct recipe_expect *e, const char *vm,
		     long unique, long self, long inter, long mapped)
{
	const struct recipe_vm_expect *x = &e->vm[recipe_vm_index(&r, vm)];

	CHECK(x->alive);
	CHECK_EQ(x->unique, unique);
	CHECK_EQ(x->self_shared, self);
	CHECK_EQ(x->inter_shared, inter);
	CHECK_EQ(x->ksm_mapped, mapped);
	if (self == RECIPE_UNKNOWN)
		CHECK_EQ(x->predicted_freed, RECIPE_UNKNOWN);
	else
		CHECK_EQ(x->predicted_freed, unique + self);
}

static const char baseline[] =
	"# comment line\n"
	"vm web db cache\n"
	"group os pages=1500 web db cache   # trailing comment\n"
	"group lib pages=400 web db\n"
	"group webdup pages=300 web*2\n"
	"group dbdup pages=120 db*3\n"
	"unique webheap pages=700 web\n"
	"unique dbheap pages=900 db\n"
	"unique cacheheap pages=1200 cache\n"
	"zero empty pages=100 db cache\n";

static void test_parse_and_layout(void)
{
	char err[256];

	CHECK_EQ(parse(baseline, &r, err, sizeof(err)), 0);
	CHECK_EQ(r.n_vms, 3);
	CHECK_EQ(r.n_groups, 8);
	CHECK(!strcmp(r.vm_names[2], "cache"));
	CHECK_EQ(r.groups[2].copies[0], 2);
	CHECK_EQ(r.groups[3].copies[1], 3);
	CHECK_EQ(r.groups[4].kind, GROUP_UNIQUE);
	CHECK_EQ(r.groups[7].kind, GROUP_ZERO);
	CHECK_EQ(recipe_vm_pages(&r, 0), 1500 + 400 + 600 + 700);
	CHECK_EQ(recipe_vm_pages(&r, 1), 1500 + 400 + 360 + 900 + 100);
	CHECK_EQ(recipe_group_offset(&r, 4, 0), 1500 + 400 + 600);
	CHECK_EQ(recipe_group_pages(&r, 3, 0), 0);
}

static void test_keys_and_fill(void)
{
	char err[256];
	unsigned char a[4096], b[4096], z[4096] = { 0 };

	CHECK_EQ(parse(baseline, &r, err, sizeof(err)), 0);
	/* the same os content in every VM, distinct across contents */
	CHECK_EQ(recipe_page_key(&r, 0, 7), recipe_page_key(&r, 2, 7));
	CHECK(recipe_page_key(&r, 0, 7) != recipe_page_key(&r, 0, 8));
	/* web*2: pages 1900 and 1901 hold content 0 of webdup */
	CHECK_EQ(recipe_page_key(&r, 0, 1900), recipe_page_key(&r, 0, 1901));
	CHECK(recipe_page_key(&r, 0, 1901) != recipe_page_key(&r, 0, 1902));
	/* unique pages differ within and across VMs */
	CHECK(recipe_page_key(&r, 0, 2500) != recipe_page_key(&r, 0, 2501));
	CHECK(recipe_page_key(&r, 1, 1900 + 360) != recipe_page_key(&r, 0, 2500));
	CHECK_EQ(recipe_page_key(&r, 1, 1500 + 400 + 360 + 900),
		 RECIPE_ZERO_KEY);
	CHECK(recipe_written_key(0, 5, 0) != recipe_written_key(0, 5, 1));
	CHECK(recipe_written_key(0, 5, 0) != recipe_written_key(1, 5, 0));

	recipe_fill_page(a, sizeof(a), 42);
	recipe_fill_page(b, sizeof(b), 42);
	CHECK(!memcmp(a, b, sizeof(a)));
	recipe_fill_page(b, sizeof(b), 43);
	CHECK(memcmp(a, b, sizeof(a)));
	recipe_fill_page(a, sizeof(a), RECIPE_ZERO_KEY);
	CHECK(!memcmp(a, z, sizeof(a)));
}

static const struct {
	const char *text;
	const char *error;
} malformed[] = {
	{ "", "at least one 'vm'" },
	{ "vm a\n", "at least one 'vm' and one group" },
	{ "vm a\nfrobnicate x\n", "line 2: unknown directive 'frobnicate'" },
	{ "vm\n", "line 1: 'vm' needs at least one name" },
	{ "vm a a\n", "line 1: VM 'a' declared twice" },
	{ "vm a/b\n", "line 1: bad VM name 'a/b'" },
	{ "vm a b c d e f g h i j k l m n o p q\n", "more than 16 VMs" },
	{ "group x pages=1 a\n", "line 1: 'group' before any 'vm'" },
	{ "vm a\ngroup x pages=1 a\nvm b\n", "line 3: 'vm' must come before" },
	{ "vm a\ngroup x pages=0 a\n", "line 2: expected pages=N" },
	{ "vm a\ngroup x pages=-3 a\n", "line 2: expected pages=N" },
	{ "vm a\ngroup x pages=12k a\n", "line 2: expected pages=N" },
	{ "vm a\ngroup x pages=99999999999999999999 a\n", "expected pages=N" },
	{ "vm a\ngroup x 5 a\n", "line 2: expected pages=N" },
	{ "vm a\ngroup x pages=1\n", "line 2: usage: group NAME" },
	{ "vm a\ngroup x pages=1 b\n", "line 2: unknown VM 'b'" },
	{ "vm a\ngroup x pages=1 a a*2\n", "line 2: VM 'a' placed twice" },
	{ "vm a\ngroup x pages=1 a*0\n", "line 2: bad copy count '0'" },
	{ "vm a\nunique x pages=1 a*2\n", "line 2: '*COPIES' only applies" },
	{ "vm a\ngroup x pages=1 a\ngroup x pages=1 a\n",
	  "line 3: group 'x' declared twice" },
	{ "vm a\ngroup x pages=1048576 a\nzero y pages=1 a\n",
	  "line 3: VM 'a' would hold more than" },
	{ "vm a\nphase p\n", "line 2: 'phase' before any group" },
	{ "vm a\ngroup x pages=2 a\nwrite a x 1\n", "line 3: 'write' outside a phase" },
	{ "vm a\ngroup x pages=2 a\nphase p\nwrite a x 3\n",
	  "line 4: bad page count '3' (1 to 2)" },
	{ "vm a\ngroup x pages=2 a\nphase p\nwrite a x\n",
	  "line 4: usage: write VM GROUP PAGES" },
	{ "vm a b\ngroup x pages=2 a\nphase p\nunmerge b x\n",
	  "line 4: VM 'b' has no pages in group 'x'" },
	{ "vm a\ngroup x pages=2 a\nphase p\nunmerge a y\n",
	  "line 4: unknown group 'y'" },
	{ "vm a\ngroup x pages=2 a\nphase p\nexit a\nphase q\nwrite a x 1\n",
	  "line 6: VM 'a' has already exited" },
	{ "vm a\ngroup x pages=2 a\nphase p\nphase p\n",
	  "line 4: phase 'p' declared twice" },
	{ "vm a\ngroup x pages=2 a\nphase p\ngroup y pages=1 a\n",
	  "line 4: 'group' must come before the phases" },
	{ "vm a\ngroup x pages=2 a\nphase p\nwrite a x 1\nphase q\nstart a\n",
	  "line 6: VM 'a' acts before it starts" },
	{ "vm a\ngroup x pages=2 a\nphase p\nstart a\nphase q\nstart a\n",
	  "line 6: VM 'a' starts twice" },
	{ "vm a\ngroup x pages=2 a\nphase p\nstart a x\n",
	  "line 4: usage: start VM" },
};

static void test_malformed(void)
{
	char err[256], longline[1200];
	size_t i;

	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(parse(malformed[i].text, &r, err, sizeof(err)), -1);
		if (!strstr(err, malformed[i].error)) {
			fprintf(stderr, "recipe %zu: error '%s', want '%s'\n",
				i, err, malformed[i].error);
			CHECK(0);
		}
	}
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	CHECK_EQ(parse(longline, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "line 1: line longer than") != NULL);
	CHECK_EQ(recipe_parse_file("/nonexistent/recipe", &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "No such file") != NULL);
}

static void test_expect_baseline(void)
{
	struct recipe_expect e;

	expect_of(baseline, -1, &e);
	check_vm(&e, "web", 700, 300, 1500 + 400, 1500 + 400 + 600);
	/* the zero pages of db and cache are one more inter-shared page */
	check_vm(&e, "db", 900, 120, 1500 + 400 + 1, 1500 + 400 + 360 + 100);
	check_vm(&e, "cache", 1200, 0, 1500 + 1, 1500 + 100);
	CHECK_EQ(e.ksm_pages, 1500 + 400 + 300 + 120 + 1);
	CHECK_EQ(e.ksm_mappings, 3 * 1500 + 2 * 400 + 600 + 360 + 200);
}

/* interface.md: 24 pages in 3 VMs merge into 4 KSM pages, and all of
 * VM1's are mapped by others too: evicting it frees nothing. */
static void test_expect_worked_example(void)
{
	struct recipe_expect e;

	expect_of("vm vm1 vm2 vm3\n"
		  "group ab pages=2 vm1*3 vm2 vm3\n"
		  "group c pages=1 vm1*2 vm2 vm3\n"
		  "group d pages=1 vm2*5 vm3*5\n", -1, &e);
	CHECK_EQ(recipe_vm_pages(&r, 0), 8);
	CHECK_EQ(recipe_vm_pages(&r, 1), 8);
	CHECK_EQ(e.ksm_pages, 4);
	CHECK_EQ(e.ksm_mappings, 24);
	check_vm(&e, "vm1", 0, 0, 3, 8);
	CHECK_EQ(e.vm[0].predicted_freed, 0);
	check_vm(&e, "vm2", 0, 0, 4, 8);
	check_vm(&e, "vm3", 0, 0, 4, 8);
}

static void test_expect_phases(void)
{
	static const char text[] =
		"vm a b c\n"
		"group x pages=10 a b\n"
		"group y pages=5 a b c\n"
		"unique u pages=3 c\n"
		"phase write\n"
		"write b x 10\n"
		"write c y 2\n"
		"phase unmerge\n"
		"unmerge a y\n"
		"phase leave\n"
		"exit b\n";
	struct recipe_expect e;

	expect_of(text, -1, &e);
	check_vm(&e, "a", 0, 0, 15, 15);
	check_vm(&e, "c", 3, 0, 5, 5);
	CHECK_EQ(e.ksm_pages, 15);

	/* b's writes leave a alone on x's pages: still KSM, now self-shared */
	expect_of(text, 0, &e);
	check_vm(&e, "a", 0, 10, 5, 15);
	check_vm(&e, "b", 10, 0, 5, 5);
	check_vm(&e, "c", 5, 0, 3, 3);
	CHECK_EQ(e.ksm_pages, 15);
	CHECK_EQ(e.ksm_mappings, 15 + 5 + 3);

	/*
	 * a unmerges y: its copies turn private; b keeps y's first 2 pages
	 * (c rewrote its own) alone, and shares the other 3 with c
	 */
	expect_of(text, 1, &e);
	check_vm(&e, "a", 5, 10, 0, 10);
	check_vm(&e, "b", 10, 2, 3, 5);
	check_vm(&e, "c", 5, 0, 3, 3);

	/* b exits: of y, 3 pages stay with c alone, 2 with no one */
	expect_of(text, 2, &e);
	CHECK(!e.vm[1].alive);
	check_vm(&e, "a", 5, 10, 0, 10);
	check_vm(&e, "c", 5, 3, 0, 3);
	CHECK_EQ(e.ksm_pages, 13);
	CHECK_EQ(e.ksm_mappings, 13);
}

/* a VM that starts late shares nothing until it runs */
static void test_expect_late_start(void)
{
	static const char text[] =
		"vm a b late\n"
		"group os pages=10 a b late\n"
		"unique own pages=4 late\n"
		"phase join\n"
		"start late\n";
	struct recipe_expect e;

	expect_of(text, -1, &e);
	CHECK(!e.vm[2].alive);
	CHECK_EQ(recipe_start_phase(&r, 2), 0);
	CHECK_EQ(recipe_start_phase(&r, 0), -1);
	check_vm(&e, "a", 0, 0, 10, 10);
	CHECK_EQ(e.ksm_mappings, 20);
	expect_of(text, 0, &e);
	check_vm(&e, "late", 4, 0, 10, 10);
	check_vm(&e, "a", 0, 0, 10, 10);
	CHECK_EQ(e.ksm_mappings, 30);
	CHECK_EQ(e.ksm_pages, 10);
}

static void test_expect_chains(void)
{
	struct recipe_expect e;

	/* 300 mappings of one content exceed max_page_sharing: dups */
	expect_of("vm a b\n"
		  "group c pages=1 a*200 b*100\n"
		  "group s pages=4 a b\n"
		  "group own pages=2 a*300\n", -1, &e);
	CHECK_EQ(e.ksm_pages, RECIPE_UNKNOWN);
	CHECK_EQ(e.ksm_mappings, 300 + 8 + 600);
	check_vm(&e, "a", 0, RECIPE_UNKNOWN, RECIPE_UNKNOWN, 200 + 4 + 600);
	check_vm(&e, "b", 0, RECIPE_UNKNOWN, RECIPE_UNKNOWN, 100 + 4);

	/* a chain held by one VM alone is never inter-shared */
	expect_of("vm a b\ngroup own pages=1 a*257\ngroup s pages=4 a b\n",
		  -1, &e);
	check_vm(&e, "a", 0, RECIPE_UNKNOWN, 4, 257 + 4);
	check_vm(&e, "b", 0, 0, 4, 4);

	/* 256 mappings still fit one KSM page */
	expect_of("vm a\ngroup own pages=1 a*256\n", -1, &e);
	check_vm(&e, "a", 0, 1, 0, 256);
	CHECK_EQ(e.ksm_pages, 1);
}

/* A recipe scaled by 4 expects what the same recipe written 4 times smaller does. */
static void test_scale(void)
{
	static struct recipe small;
	struct recipe_expect scaled, written;
	char err[256] = "";
	int v;

	CHECK_EQ(parse("vm a b\ngroup os pages=1000 a b\ngroup own pages=3 a*300\n"
		       "unique heap pages=9 b\nzero empty pages=7 a b\n"
		       "phase p\nwrite a os 401\n", &r, err, sizeof(err)), 0);
	CHECK_EQ(parse("vm a b\ngroup os pages=250 a b\ngroup own pages=1 a*300\n"
		       "unique heap pages=3 b\nzero empty pages=2 a b\n"
		       "phase p\nwrite a os 101\n", &small, err, sizeof(err)), 0);
	recipe_scale(&r, 4);
	CHECK_EQ(r.groups[1].contents, 1);	/* rounded up, never 0 */
	CHECK_EQ(r.groups[1].copies[0], 300);	/* the dup chain stays */
	CHECK_EQ(r.actions[0].pages, 101);
	CHECK_EQ(recipe_expect(&r, 0, RECIPE_MAX_PAGE_SHARING, &scaled), 0);
	CHECK_EQ(recipe_expect(&small, 0, RECIPE_MAX_PAGE_SHARING, &written), 0);
	CHECK_EQ(scaled.ksm_pages, written.ksm_pages);
	CHECK_EQ(scaled.ksm_mappings, written.ksm_mappings);
	for (v = 0; v < r.n_vms; v++) {
		CHECK_EQ(scaled.vm[v].unique, written.vm[v].unique);
		CHECK_EQ(scaled.vm[v].self_shared, written.vm[v].self_shared);
		CHECK_EQ(scaled.vm[v].inter_shared, written.vm[v].inter_shared);
		CHECK_EQ(scaled.vm[v].ksm_mapped, written.vm[v].ksm_mapped);
		CHECK_EQ(scaled.vm[v].predicted_freed, written.vm[v].predicted_freed);
	}
	/* 1 (and 0) leave a recipe as it is */
	recipe_scale(&r, 1);
	recipe_scale(&r, 0);
	CHECK_EQ(r.groups[0].contents, 250);
}

int main(void)
{
	test_parse_and_layout();
	test_keys_and_fill();
	test_malformed();
	test_expect_baseline();
	test_expect_worked_example();
	test_expect_phases();
	test_expect_chains();
	test_expect_late_start();
	test_scale();
	return unit_report("test_recipe");
}
