/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A recipe declares what the memory of a set of test VMs holds, and what
 * they do to it later, so that KSM's result can be predicted.
 *
 *   vm web db cache                   the VMs, by name
 *   group os pages=1000 web db cache  1000 contents, each once in every VM
 *   group dup pages=20 web*3          20 contents, each 3 times in web
 *   unique heap pages=500 web db      500 distinct pages in each VM listed
 *   zero empty pages=100 db           100 zero-filled pages in db
 *   phase broken                      what follows happens on request
 *   write web os 100                  the first 100 pages of web's "os"
 *                                     get fresh content
 *   unmerge db os                     MADV_UNMERGEABLE over db's "os"
 *   exit cache                        cache exits
 *   start late                        a VM declared with "vm" but idle
 *                                     until now starts, filling its memory
 *
 * A VM's memory is its groups laid out in recipe order; within a group,
 * copy j of content i is page i * copies + j.
 */
#ifndef KSMVS_RECIPE_H
#define KSMVS_RECIPE_H

#include <stdint.h>
#include <stdio.h>

#define RECIPE_MAX_VMS		16
#define RECIPE_MAX_GROUPS	64
#define RECIPE_MAX_PHASES	8
#define RECIPE_MAX_ACTIONS	64
#define RECIPE_NAME_MAX		32
/* Bounds a recipe to what a test guest can hold (4 GiB of pages per VM). */
#define RECIPE_MAX_VM_PAGES	(1UL << 20)

/* KSM's default cap on the mappings of one KSM page. */
#define RECIPE_MAX_PAGE_SHARING	256

enum recipe_group_kind {
	GROUP_SHARED,	/* each content placed copies[v] times in VM v */
	GROUP_UNIQUE,	/* every page its own content */
	GROUP_ZERO,	/* zero-filled pages */
};

struct recipe_group {
	char name[RECIPE_NAME_MAX];
	enum recipe_group_kind kind;
	unsigned long contents;			/* pages= */
	unsigned int copies[RECIPE_MAX_VMS];	/* 0: not in that VM */
};

enum recipe_action_kind {
	ACTION_WRITE, ACTION_UNMERGE, ACTION_EXIT, ACTION_START
};

struct recipe_action {
	enum recipe_action_kind kind;
	int vm;
	int group;		/* -1 for exit and start */
	unsigned long pages;	/* write: how many pages, from the start */
};

struct recipe_phase {
	char name[RECIPE_NAME_MAX];
	int first_action;
	int n_actions;
};

struct recipe {
	int n_vms;
	char vm_names[RECIPE_MAX_VMS][RECIPE_NAME_MAX];
	int n_groups;
	struct recipe_group groups[RECIPE_MAX_GROUPS];
	int n_phases;
	struct recipe_phase phases[RECIPE_MAX_PHASES];
	int n_actions;
	struct recipe_action actions[RECIPE_MAX_ACTIONS];
};

/*
 * Parse a recipe. On error returns -1 and writes "LINE: reason" to err;
 * a recipe is all or nothing.
 */
int recipe_parse(FILE *in, struct recipe *r, char *err, size_t errlen);
int recipe_parse_file(const char *path, struct recipe *r, char *err,
		      size_t errlen);

void recipe_scale(struct recipe *r, unsigned long divisor);
int recipe_vm_index(const struct recipe *r, const char *name);
/* The phase in which VM v starts, or -1 if it runs from the beginning. */
int recipe_start_phase(const struct recipe *r, int v);
int recipe_phase_index(const struct recipe *r, const char *name);

/* Pages group g occupies in VM v, and the VM's total. */
unsigned long recipe_group_pages(const struct recipe *r, int g, int v);
unsigned long recipe_group_offset(const struct recipe *r, int g, int v);
unsigned long recipe_vm_pages(const struct recipe *r, int v);

/*
 * The content of one page, as a 64-bit key: equal keys mean equal pages.
 * RECIPE_ZERO_KEY is the zero-filled page. Written pages get keys of their
 * own through recipe_written_key().
 */
#define RECIPE_ZERO_KEY 0
uint64_t recipe_page_key(const struct recipe *r, int v, unsigned long page);
uint64_t recipe_written_key(int v, unsigned long page, int phase);

/* Fill a page of page_size bytes with the content that key names. */
void recipe_fill_page(void *page, size_t page_size, uint64_t key);

#define RECIPE_UNKNOWN (-1L)

/* What KSM must end with once it has quiesced; RECIPE_UNKNOWN where the
 * recipe does not determine it (dup chains split mappings by scan order).
 */
struct recipe_vm_expect {
	int alive;
	long unique;		/* mergeable pages not backed by a KSM page */
	long self_shared;
	long inter_shared;
	long ksm_mapped;
	long predicted_freed;
};

struct recipe_expect {
	long ksm_pages;
	long ksm_mappings;
	struct recipe_vm_expect vm[RECIPE_MAX_VMS];
};

/*
 * Expected counts after the phases up to and including upto (-1: before
 * any phase). Returns 0, or -1 when out of memory.
 */
int recipe_expect(const struct recipe *r, int upto, unsigned int max_sharing,
		  struct recipe_expect *e);

#endif /* KSMVS_RECIPE_H */
