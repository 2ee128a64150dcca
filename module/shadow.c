// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow map: see the DOC block in include/ksm_vmshare/shadow.h.
 * Plain C; built unchanged into the module and into test/unit.
 */
#include <ksm_vmshare/shadow.h>

#define GOLDEN_RATIO_64 0x61C8864680B583EBULL
#define INDEX_MASK	((unsigned long)SHADOW_MAX_VMS - 1)
#define SLOT_SPILLED	((uintptr_t)1)
#define MIN_REC_BITS	6
/*
 * A tombstone's address: the top page, the kernel's on every architecture
 * the module builds for, so no user mapping's record has its key.
 */
#define TOMB_ADDR	(~(unsigned long)INDEX_MASK)

size_t shadow_obj_size(enum shadow_obj kind)
{
	if (kind >= SHADOW_OBJ_SPILL)
		return (size_t)16 << (kind - SHADOW_OBJ_SPILL);
	switch (kind) {
	case SHADOW_OBJ_SET:
		return sizeof(struct shadow_set);
	case SHADOW_OBJ_REC:
		return sizeof(struct shadow_rec);
	default:
		return sizeof(struct shadow_vm);
	}
}

static u32 hash32(unsigned long long x)
{
	return (u32)((x * GOLDEN_RATIO_64) >> 32);
}

/*
 * A number below n from a 32-bit hash, by multiplication rather than a
 * mask, so that a table may have any size: growing by a factor below 2
 * keeps the load (and the bytes per page) within a narrow band.
 */
static unsigned long reduce(u32 h, unsigned long n)
{
	return (unsigned long)(((unsigned long long)h * n) >> 32);
}

static void *obj_alloc(struct shadow *s, enum shadow_obj kind)
{
	void *obj = s->ops->alloc(kind);

	if (obj)
		s->objects[kind]++;
	return obj;
}

static void obj_free(struct shadow *s, enum shadow_obj kind, void *obj)
{
	s->objects[kind]--;
	s->ops->free(kind, obj);
}

void shadow_init(struct shadow *s, const struct shadow_ops *ops,
		 struct shadow_page *slots, unsigned long n_slots,
		 struct shadow_rec **recs, unsigned int rec_bits)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->slots = slots;
	s->n_slots = n_slots;
	s->recs = recs;
	s->rec_bits = rec_bits;
	s->set_max = SHADOW_SET_MAX;
}

/* --- VMs ------------------------------------------------------------ */

static unsigned int vm_bucket(const void *mm)
{
	return hash32((uintptr_t)mm) >> 26;	/* 64 == SHADOW_VM_BUCKETS */
}

struct shadow_vm *shadow_vm_find(struct shadow *s, const void *mm)
{
	struct shadow_vm *vm;

	for (vm = s->vm_buckets[vm_bucket(mm)]; vm; vm = vm->hash_next)
		if (vm->mm == mm)
			return vm;
	return NULL;
}

struct shadow_vm *shadow_vm_add(struct shadow *s, const void *mm)
{
	struct shadow_vm *vm = shadow_vm_find(s, mm);
	unsigned int index;

	if (vm)
		return vm;
	if (s->n_vms == SHADOW_MAX_VMS)
		return NULL;
	for (index = 0; s->vms[index]; index++)
		;
	vm = obj_alloc(s, SHADOW_OBJ_VM);
	if (!vm)
		return NULL;
	memset(vm, 0, sizeof(*vm));
	vm->mm = mm;
	vm->index = index;
	vm->hash_next = s->vm_buckets[vm_bucket(mm)];
	s->vm_buckets[vm_bucket(mm)] = vm;
	s->vms[index] = vm;
	s->n_vms++;
	return vm;
}

bool shadow_vm_remove(struct shadow *s, struct shadow_vm *vm)
{
	struct shadow_vm **vp;

	if (vm->counts.ksm_mapped || vm->window || vm->n_recs)
		return false;
	for (vp = &s->vm_buckets[vm_bucket(vm->mm)]; *vp != vm;
	     vp = &(*vp)->hash_next)
		;
	*vp = vm->hash_next;
	s->vms[vm->index] = NULL;
	s->n_vms--;
	obj_free(s, SHADOW_OBJ_VM, vm);
	return true;
}

/* --- the page table ------------------------------------------------- */

static const void *page_node(const struct shadow_page *page)
{
	return (const void *)(page->key & ~SLOT_SPILLED);
}

static bool slot_live(const struct shadow_page *page)
{
	return page->key && page->key != SHADOW_SLOT_MOVED;
}

static unsigned long home_of(const void *node, unsigned long n)
{
	return reduce(hash32((uintptr_t)node), n);
}

/* Linear probing in one table; NULL if node is not in it. */
static struct shadow_page *probe(struct shadow *s, struct shadow_page *t,
				 unsigned long n, const void *node)
{
	unsigned long i = home_of(node, n), left = n;

	for (; left && t[i].key; left--) {
		s->probes++;
		if (t[i].key != SHADOW_SLOT_MOVED && page_node(&t[i]) == node)
			return &t[i];
		if (++i == n)
			i = 0;
	}
	return NULL;
}

/* The page of node, in the table or, while it is resized, the old one. */
static struct shadow_page *find_page(struct shadow *s, const void *node)
{
	struct shadow_page *page = probe(s, s->slots, s->n_slots, node);

	if (!page && s->old_slots)
		page = probe(s, s->old_slots, s->n_old, node);
	return page;
}

bool shadow_has_page(struct shadow *s, const void *node)
{
	return find_page(s, node);
}

/*
 * A free slot for a new page of node, NULL if the table is too full:
 * at most 95% of the (new) table, so that a resize always has room for
 * the pages it moves and probing stays short while growth waits.
 */
static struct shadow_page *insert_slot(struct shadow *s, const void *node)
{
	unsigned long i, n = s->n_slots;

	if ((s->used + 1) * 100 > n * 95)
		return NULL;
	for (i = home_of(node, n); s->slots[i].key; i = i + 1 == n ? 0 : i + 1)
		s->probes++;
	s->used++;
	return &s->slots[i];
}

static bool cyclic_between(unsigned long i, unsigned long k, unsigned long j)
{
	return i <= j ? i < k && k <= j : i < k || k <= j;
}

/*
 * Take a page out of its table. In the table being resized from, the slot
 * is only marked (nothing is inserted there, so probes stay right); in the
 * table proper, the pages after it in its cluster move back (no
 * tombstones), each never before its home slot.
 */
static void delete_slot(struct shadow *s, struct shadow_page *page)
{
	struct shadow_page *t = s->slots;
	unsigned long n = s->n_slots, i, j;

	s->used--;
	if (s->old_slots && page >= s->old_slots &&
	    page < s->old_slots + s->n_old) {
		memset(page, 0, sizeof(*page));
		page->key = SHADOW_SLOT_MOVED;
		return;
	}
	i = page - t;
	j = i;
	memset(&t[i], 0, sizeof(t[i]));
	for (;;) {
		j = j + 1 == n ? 0 : j + 1;
		if (!t[j].key)
			break;
		s->probes++;
		if (cyclic_between(i, home_of(page_node(&t[j]), n), j))
			continue;
		t[i] = t[j];
		memset(&t[j], 0, sizeof(t[j]));
		i = j;
	}
}

unsigned long shadow_wanted_slots(const struct shadow *s)
{
	unsigned long n = s->n_slots, want;

	if (s->old_slots)
		return 0;
	if (s->used * 100 <= n * SHADOW_LOAD_MAX &&
	    (s->used * 100 >= n * SHADOW_LOAD_MIN || n <= SHADOW_MIN_SLOTS))
		return 0;
	want = s->used * 100 / SHADOW_LOAD_AIM + 1;
	if (want < SHADOW_MIN_SLOTS)
		want = SHADOW_MIN_SLOTS;
	return want == n ? 0 : want;
}

bool shadow_resize_begin(struct shadow *s, struct shadow_page *slots,
			 unsigned long n)
{
	/*
	 * The move below probes the new table for a free slot: the pages
	 * must leave room, now and while joins go on (insert_slot() keeps
	 * them within 95% of the new size).
	 */
	if (s->old_slots || s->used * 100 > n * SHADOW_LOAD_MAX)
		return false;
	s->old_slots = s->slots;
	s->n_old = s->n_slots;
	s->moved = 0;
	s->slots = slots;
	s->n_slots = n;
	return true;
}

struct shadow_page *shadow_resize_step(struct shadow *s, unsigned long n)
{
	struct shadow_page *old = s->old_slots;

	for (; s->moved < s->n_old && n; s->moved++, n--) {
		struct shadow_page *from = &old[s->moved], *to;
		unsigned long i;

		if (!slot_live(from))
			continue;
		for (i = home_of(page_node(from), s->n_slots); s->slots[i].key;
		     i = i + 1 == s->n_slots ? 0 : i + 1)
			s->probes++;
		to = &s->slots[i];
		*to = *from;
		memset(from, 0, sizeof(*from));
		from->key = SHADOW_SLOT_MOVED;
	}
	if (s->moved < s->n_old)
		return NULL;
	s->old_slots = NULL;
	s->n_old = 0;
	s->moved = 0;
	return old;
}

/* --- a page's (VM, count) pairs ------------------------------------- */

#define PAIR_COUNT(w)		((w) & SHADOW_COUNT_MAX)
#define PAIR_INDEX(w)		((w) >> 20)
#define PAIR(index, count)	((u32)(index) << 20 | (count))
#define SPILL_LOG(sp)		((sp)[0] & 0xff)
#define SPILL_VMS(sp)		((sp)[0] >> 8)
/* Spills this small are searched whole; larger ones kept 3/4 full. */
#define SPILL_DENSE_LOG		4

static bool spilled(const struct shadow_page *page)
{
	return page->key & SLOT_SPILLED;
}

/* Pair words of a spill: 1 .. m. */
static unsigned long spill_words(const u32 *sp)
{
	return (1UL << SPILL_LOG(sp)) - 1;
}

/* Most VMs a spill of 1 << log words holds. */
static unsigned long spill_room(unsigned int log)
{
	unsigned long m = (1UL << log) - 1;

	return log <= SPILL_DENSE_LOG ? m : m * 3 / 4;
}

static unsigned long spill_home(unsigned int index, unsigned long m)
{
	return 1 + reduce(hash32(index + 1ULL), m);
}

static unsigned int page_vms(const struct shadow_page *page)
{
	if (spilled(page))
		return SPILL_VMS(page->spill);
	return !!page->pair[0] + !!page->pair[1];
}

/* The pair word of index on the page, or NULL. */
static u32 *pair_find(struct shadow *s, struct shadow_page *page,
		      unsigned int index)
{
	u32 *sp;
	unsigned long m, i, left;

	if (!spilled(page)) {
		s->probes++;
		if (page->pair[0] && PAIR_INDEX(page->pair[0]) == index)
			return &page->pair[0];
		if (page->pair[1] && PAIR_INDEX(page->pair[1]) == index)
			return &page->pair[1];
		return NULL;
	}
	sp = page->spill;
	m = spill_words(sp);
	for (i = spill_home(index, m), left = m; left && sp[i]; left--) {
		s->probes++;
		if (PAIR_INDEX(sp[i]) == index)
			return &sp[i];
		if (++i > m)
			i = 1;
	}
	return NULL;
}

static u32 *spill_put(struct shadow *s, u32 *sp, u32 word)
{
	unsigned long m = spill_words(sp), i;

	for (i = spill_home(PAIR_INDEX(word), m); sp[i]; i = i == m ? 1 : i + 1)
		s->probes++;
	sp[i] = word;
	sp[0] += 1 << 8;
	return &sp[i];
}

static void spill_free(struct shadow *s, u32 *sp)
{
	obj_free(s, SHADOW_OBJ_SPILL + SPILL_LOG(sp) - 2, sp);
}

/*
 * A spill of 1 << log words with the page's pairs in it, and the page
 * pointing at it; false (nothing changed) if it cannot be allocated.
 * O(VMs on the page), amortized O(1) per arrival or departure.
 */
static bool spill_resize(struct shadow *s, struct shadow_page *page,
			 unsigned int log)
{
	u32 *sp = obj_alloc(s, SHADOW_OBJ_SPILL + log - 2), *old;
	unsigned long i;

	if (!sp)
		return false;
	sp[0] = log;
	if (!spilled(page)) {
		for (i = 0; i < 2; i++)
			if (page->pair[i])
				spill_put(s, sp, page->pair[i]);
		page->spill = sp;
		page->key |= SLOT_SPILLED;
		return true;
	}
	old = page->spill;
	for (i = 1; i <= spill_words(old); i++)
		if (old[i])
			spill_put(s, sp, old[i]);
	spill_free(s, old);
	page->spill = sp;
	return true;
}

/*
 * A new pair (index, 1) on the page: its word, or NULL if out of memory.
 * (A count of 0 would make VM 0's word 0, which means unused.)
 */
static u32 *pair_add(struct shadow *s, struct shadow_page *page,
		     unsigned int index)
{
	unsigned int log;

	if (!spilled(page)) {
		if (!page->pair[0]) {
			page->pair[0] = PAIR(index, 1);
			return &page->pair[0];
		}
		if (!page->pair[1]) {
			page->pair[1] = PAIR(index, 1);
			return &page->pair[1];
		}
		if (!spill_resize(s, page, 2))
			return NULL;
	} else if (SPILL_VMS(page->spill) + 1 >
		   spill_room(SPILL_LOG(page->spill))) {
		log = SPILL_LOG(page->spill) + 1;
		if (log - 2 >= SHADOW_SPILL_KINDS || !spill_resize(s, page, log))
			return NULL;
	}
	return spill_put(s, page->spill, PAIR(index, 1));
}

/*
 * Remove the pair at word (its count already 0). Back to inline at two
 * VMs; a spill at most an eighth full is halved if memory allows.
 */
static void pair_del(struct shadow *s, struct shadow_page *page,
		     u32 *word)
{
	u32 *sp = page->spill;
	unsigned long m, i, j;
	unsigned int log;

	if (!spilled(page)) {
		*word = 0;
		return;
	}
	m = spill_words(sp);
	i = word - sp;
	j = i;
	sp[i] = 0;	/* a hole, so that the shift ends even in a full spill */
	for (;;) {	/* the backward shift of delete_slot() */
		j = j == m ? 1 : j + 1;
		if (!sp[j])
			break;
		s->probes++;
		if (cyclic_between(i, spill_home(PAIR_INDEX(sp[j]), m), j))
			continue;
		sp[i] = sp[j];
		sp[j] = 0;
		i = j;
	}
	sp[0] -= 1 << 8;
	if (SPILL_VMS(sp) <= 2) {
		u32 keep[2] = { 0, 0 };

		for (i = 1, j = 0; i <= m; i++)
			if (sp[i])
				keep[j++] = sp[i];
		page->key &= ~SLOT_SPILLED;
		page->pair[0] = keep[0];
		page->pair[1] = keep[1];
		spill_free(s, sp);
		return;
	}
	log = SPILL_LOG(sp);
	if (log > 2 && SPILL_VMS(sp) * 8 <= m)
		spill_resize(s, page, log - 1);	/* a failure keeps it larger */
}

/* The i-th used pair word of the page, for i from 0: NULL past the end. */
static u32 *pair_at(struct shadow_page *page, unsigned long *i)
{
	if (!spilled(page)) {
		for (; *i < 2; ++*i)
			if (page->pair[*i])
				return &page->pair[(*i)++];
		return NULL;
	}
	for (; *i < spill_words(page->spill); ++*i)
		if (page->spill[*i + 1])
			return &page->spill[++*i];
	return NULL;
}

unsigned long shadow_page_count(struct shadow *s, const struct shadow_vm *vm,
				const void *node)
{
	struct shadow_page *page = find_page(s, node);
	u32 *w = page ? pair_find(s, page, vm->index) : NULL;

	return w ? PAIR_COUNT(*w) : 0;
}

/* --- sets of VMs --------------------------------------------------- */

static unsigned long long member_hash(unsigned int index)
{
	return (index + 1ULL) * GOLDEN_RATIO_64;
}

static bool real_set(const struct shadow *s, const struct shadow_set *set)
{
	return set && set != &s->star && set != &s->lost;
}

/**
 * struct set_key - a set of VMs being looked up
 * @hash: sum of member_hash() of the members
 * @n: number of members; more than the shadow's set_max means star
 * @members: VM indexes, ascending (only while @n <= SHADOW_SET_MAX)
 */
struct set_key {
	unsigned long long hash;
	unsigned int n;
	unsigned short members[SHADOW_SET_MAX];
};

static unsigned int set_bucket(unsigned long long hash)
{
	return (unsigned int)(hash >> 54);	/* 1024 == SHADOW_SET_BUCKETS */
}

/* The record of key: found, or made (NULL if it cannot be allocated). */
static struct shadow_set *set_get(struct shadow *s, const struct set_key *key)
{
	struct shadow_set **bucket, *set;

	if (key->n > s->set_max)
		return &s->star;
	bucket = &s->set_buckets[set_bucket(key->hash)];
	for (set = *bucket; set; set = set->hash_next, s->probes++)
		if (set->hash == key->hash && set->n == key->n &&
		    !memcmp(set->members, key->members,
			    key->n * sizeof(key->members[0])))
			return set;
	set = obj_alloc(s, SHADOW_OBJ_SET);
	if (!set)
		return NULL;
	set->hash = key->hash;
	set->pages = 0;
	set->n = key->n;
	memcpy(set->members, key->members, key->n * sizeof(key->members[0]));
	set->hash_next = *bucket;
	*bucket = set;
	s->n_sets++;
	return set;
}

/* Free a set record no page uses any more. */
static void set_put(struct shadow *s, struct shadow_set *set)
{
	struct shadow_set **sp;

	if (!real_set(s, set) || set->pages)
		return;
	for (sp = &s->set_buckets[set_bucket(set->hash)]; *sp != set;
	     sp = &(*sp)->hash_next)
		;
	*sp = set->hash_next;
	s->n_sets--;
	obj_free(s, SHADOW_OBJ_SET, set);
}

/* The page now counts in set (NULL: in lost). */
static void set_move(struct shadow *s, struct shadow_page *page,
		     struct shadow_set *set)
{
	struct shadow_set *old = page->set;

	if (!set)
		set = &s->lost;
	if (old == set)
		return;
	set->pages++;
	page->set = set;
	if (old) {
		old->pages--;
		set_put(s, old);
	}
}

/* Insert index into the ascending key (it is not in it). */
static void key_add(struct set_key *key, unsigned int index)
{
	unsigned int i = key->n;

	key->hash += member_hash(index);
	if (++key->n > SHADOW_SET_MAX)
		return;		/* star: members no longer kept */
	for (; i && key->members[i - 1] > index; i--)
		key->members[i] = key->members[i - 1];
	key->members[i] = index;
}

static void key_remove(struct set_key *key, unsigned int index)
{
	unsigned int i, j;

	key->hash -= member_hash(index);
	for (i = 0, j = 0; i < key->n; i++)
		if (key->members[i] != index)
			key->members[j++] = key->members[i];
	key->n--;
}

/*
 * The key of the page's VMs as its pairs list them, O(VMs on the page):
 * for a page whose set record is not a real one (lost, none yet). Never
 * for star, so at most set_max + 1 VMs.
 */
static void key_from_pairs(struct shadow_page *page, struct set_key *key)
{
	unsigned long i = 0;
	u32 *w;

	key->hash = 0;
	key->n = 0;
	while ((w = pair_at(page, &i)))
		key_add(key, PAIR_INDEX(*w));
}

/* The key of the page's set before a change: O(members) from its record. */
static void key_of_page(const struct shadow *s, struct shadow_page *page,
			struct set_key *key)
{
	const struct shadow_set *set = page->set;

	if (!real_set(s, set)) {
		key_from_pairs(page, key);
		return;
	}
	key->hash = set->hash;
	key->n = set->n;
	memcpy(key->members, set->members, set->n * sizeof(set->members[0]));
}

/*
 * A VM starts mapping the page: n VMs mapped it before, and its pair is
 * in already (two VMs: both inline).
 */
static void vm_arrives(struct shadow *s, struct shadow_page *page,
		       unsigned int n, struct shadow_vm *vm)
{
	if (n == 0) {
		vm->counts.self_shared++;
		return;
	}
	if (n == 1) {
		/* the one VM that was alone on the page is not any more */
		unsigned int j = PAIR_INDEX(page->pair[0]) == vm->index;
		struct shadow_vm *other = s->vms[PAIR_INDEX(page->pair[j])];

		other->counts.self_shared--;
		other->counts.inter_shared++;
	}
	vm->counts.inter_shared++;
}

/* A VM stops mapping the page: n VMs are left (its pair is gone). */
static void vm_departs(struct shadow *s, struct shadow_page *page,
		       unsigned int n, struct shadow_vm *vm)
{
	if (n == 0) {
		vm->counts.self_shared--;
		return;
	}
	vm->counts.inter_shared--;
	if (n == 1) {
		unsigned long i = 0;
		struct shadow_vm *other = s->vms[PAIR_INDEX(*pair_at(page, &i))];

		other->counts.inter_shared--;
		other->counts.self_shared++;
	}
}

/* One more mapping of vm on the page of node, with no record: see join. */
static int count_join(struct shadow *s, struct shadow_vm *vm,
		      const void *node)
{
	struct shadow_page *page = find_page(s, node);
	struct shadow_set *set = NULL;
	struct set_key sk = { 0 };
	unsigned int n = 0;
	u32 *w = NULL;

	if (page) {
		w = pair_find(s, page, vm->index);
		n = page_vms(page);
	}
	if (w && PAIR_COUNT(*w) == SHADOW_COUNT_MAX)
		return -ENOMEM;		/* max_page_sharing above 2^20 */
	if (!w) {
		/* allocate everything first: a failure must change nothing */
		if (page && page->set == &s->star) {
			set = &s->star;
		} else {
			if (page)
				key_of_page(s, page, &sk);
			key_add(&sk, vm->index);
			set = set_get(s, &sk);
			if (!set)
				return -ENOMEM;
		}
		if (!page) {
			page = insert_slot(s, node);
			if (!page) {
				set_put(s, set);
				return -ENOMEM;
			}
			page->key = (uintptr_t)node;
			page->set = NULL;
			page->pair[0] = 0;
			page->pair[1] = 0;
			s->ksm_pages++;
		}
		w = pair_add(s, page, vm->index);
		if (!w) {
			set_put(s, set);	/* frees it if it was made here */
			return -ENOMEM;		/* (a new page has two pairs) */
		}
		vm_arrives(s, page, n, vm);
		set_move(s, page, set);
	} else {
		(*w)++;
	}
	vm->counts.ksm_mapped++;
	s->ksm_mappings++;
	return 1;
}

/*
 * The page's set after a VM's pair went, n VMs left. A record that cannot
 * be allocated leaves the page in lost: a departure cannot be refused.
 */
static void set_after_departure(struct shadow *s, struct shadow_page *page,
				unsigned int n, const struct shadow_vm *vm)
{
	struct set_key sk;

	if (page->set == &s->star && n > s->set_max)
		return;
	if (real_set(s, page->set)) {
		key_of_page(s, page, &sk);
		key_remove(&sk, vm->index);
	} else {
		key_from_pairs(page, &sk);
	}
	set_move(s, page, set_get(s, &sk));
}

/* Free the page's slot (no pair left): out of its set, out of the table. */
static void page_gone(struct shadow *s, struct shadow_page *page)
{
	if (page->set) {
		page->set->pages--;
		set_put(s, page->set);
	}
	if (spilled(page))
		spill_free(s, page->spill);
	s->ksm_pages--;
	delete_slot(s, page);
}

/* k of vm's mappings of the page (pair word w) are gone. */
static void count_remove(struct shadow *s, struct shadow_vm *vm,
			 struct shadow_page *page, u32 *w,
			 unsigned long k)
{
	unsigned int n;

	*w -= k;
	vm->counts.ksm_mapped -= k;
	s->ksm_mappings -= k;
	if (PAIR_COUNT(*w))
		return;
	pair_del(s, page, w);
	n = page_vms(page);
	if (!n) {
		vm->counts.self_shared--;
		page_gone(s, page);
		return;
	}
	vm_departs(s, page, n, vm);
	set_after_departure(s, page, n, vm);
}

/* --- window records -------------------------------------------------- */

static unsigned long rec_hash(unsigned long key, const void *node)
{
	return hash32(key ^ (uintptr_t)node * GOLDEN_RATIO_64);
}

/* The chain of (key, node): in the old buckets while not yet moved. */
static struct shadow_rec **rec_bucket(struct shadow *s, unsigned long key,
				      const void *node)
{
	u32 h = rec_hash(key, node);

	if (s->old_recs) {
		unsigned long old = h >> (32 - s->old_rec_bits);

		if (old >= s->recs_moved)
			return &s->old_recs[old];
	}
	return &s->recs[h >> (32 - s->rec_bits)];
}

static struct shadow_rec **rec_find(struct shadow *s, unsigned long key,
				    const void *node)
{
	struct shadow_rec **rp = rec_bucket(s, key, node);

	for (; *rp; rp = &(*rp)->next) {
		s->probes++;
		if ((*rp)->key == key && (*rp)->node == node)
			break;
	}
	return rp;
}

static void rec_del(struct shadow *s, struct shadow_rec **rp)
{
	struct shadow_rec *rec = *rp;
	struct shadow_vm *vm = s->vms[rec->key & INDEX_MASK];

	*rp = rec->next;
	vm->n_recs--;
	s->n_recs--;
	obj_free(s, SHADOW_OBJ_REC, rec);
}

/*
 * A record of a window VM is stale when its page was dropped after it was
 * made (a newer tombstone says so, whatever page has the node's address
 * now), or when its VM has no pair on the page (every pair of a walked VM
 * is made of its records, so this also covers a tombstone that could not
 * be allocated, as long as the address was not reused: dirty then).
 */
static bool rec_live(struct shadow *s, const struct shadow_vm *vm,
		     const struct shadow_rec *rec)
{
	struct shadow_rec *tomb = *rec_find(s, TOMB_ADDR | vm->index,
					    rec->node);

	if (tomb && tomb->seq > rec->seq)
		return false;
	return shadow_page_count(s, vm, rec->node) > 0;
}

/* Add a record (key, node) made now; rec is allocated, the rest is not. */
static void rec_add(struct shadow *s, struct shadow_vm *vm,
		    struct shadow_rec *rec, unsigned long key,
		    const void *node)
{
	struct shadow_rec **rp = rec_bucket(s, key, node);

	rec->key = key;
	rec->node = node;
	rec->seq = ++s->seq;
	rec->next = *rp;
	*rp = rec;
	vm->n_recs++;
	s->n_recs++;
}

/*
 * The page of node goes while vm, in its walk window, has records of it:
 * they stay behind, and its tombstone says from when they are stale. A
 * tombstone that cannot be allocated leaves the window dirty; a dirty
 * window is rebuilt anyway, so it gets no more of them.
 */
static void rec_tombstone(struct shadow *s, struct shadow_vm *vm,
			  const void *node)
{
	unsigned long key = TOMB_ADDR | vm->index;
	struct shadow_rec *tomb;

	if (vm->dirty)
		return;
	tomb = *rec_find(s, key, node);
	if (tomb) {
		tomb->seq = ++s->seq;	/* dropped again: newer records */
		return;
	}
	tomb = obj_alloc(s, SHADOW_OBJ_REC);
	if (!tomb) {
		vm->dirty = true;
		return;
	}
	rec_add(s, vm, tomb, key, node);
}

int shadow_join(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		const void *node)
{
	unsigned long key = addr | vm->index;
	struct shadow_rec **rp, *rec;
	int ret;

	if (vm->window == SHADOW_WINDOW_NONE)
		return count_join(s, vm, node);
	if (vm->window == SHADOW_WINDOW_FORGET)
		return 0;	/* the walk that follows sees it, or it went */
	rp = rec_find(s, key, node);
	if (*rp) {
		if (rec_live(s, vm, *rp))
			return 0;	/* the walk saw the pte before the join */
		rec_del(s, rp);
	}
	rec = obj_alloc(s, SHADOW_OBJ_REC);
	if (!rec)
		return -ENOMEM;
	ret = count_join(s, vm, node);
	if (ret < 0) {
		obj_free(s, SHADOW_OBJ_REC, rec);
		return ret;
	}
	rec_add(s, vm, rec, key, node);
	return 1;
}

bool shadow_leave(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		  const void *node)
{
	struct shadow_page *page;
	struct shadow_rec **rp = NULL;
	u32 *w;

	if (vm->window == SHADOW_WINDOW_FORGET)
		return false;
	if (vm->window == SHADOW_WINDOW_WALK) {
		rp = rec_find(s, addr | vm->index, node);
		if (!*rp)
			return false;	/* never seen: its pte changed first */
		if (!rec_live(s, vm, *rp)) {
			rec_del(s, rp);	/* its page was dropped: no leave due */
			return false;
		}
		rec_del(s, rp);
	}
	page = find_page(s, node);
	w = page ? pair_find(s, page, vm->index) : NULL;
	if (!w)
		return false;
	count_remove(s, vm, page, w, 1);
	return true;
}

long shadow_drop_page(struct shadow *s, const void *node)
{
	struct shadow_page *page = find_page(s, node);
	unsigned int n;
	unsigned long i = 0;
	long mappings = 0;
	u32 *w;

	if (!page)
		return -1;
	n = page_vms(page);
	while ((w = pair_at(page, &i))) {
		struct shadow_vm *vm = s->vms[PAIR_INDEX(*w)];
		unsigned long k = PAIR_COUNT(*w);

		vm->counts.ksm_mapped -= k;
		if (n == 1)
			vm->counts.self_shared--;
		else
			vm->counts.inter_shared--;
		mappings += k;
		if (vm->window == SHADOW_WINDOW_WALK)
			rec_tombstone(s, vm, node);
	}
	s->ksm_mappings -= mappings;
	page_gone(s, page);
	return mappings;
}

/* --- the walk window ------------------------------------------------- */

bool shadow_window_begin(struct shadow *s, struct shadow_vm *vm)
{
	(void)s;
	if (vm->window || vm->n_recs)
		return false;
	vm->window = SHADOW_WINDOW_FORGET;
	vm->dirty = false;
	return true;
}

/*
 * Whether a bounded step over the page table may stop before slot c: only
 * just after an empty slot. A page at or after c then has its home slot
 * at or after c, and a deletion never moves a page before its home, so
 * no page not yet visited can slip behind the cursor between two steps.
 */
static bool may_stop_before(const struct shadow *s, unsigned long c)
{
	return c == 0 || !s->slots[c - 1].key;
}

bool shadow_vm_forget_step(struct shadow *s, struct shadow_vm *vm,
			   unsigned long *cursor, unsigned long budget)
{
	unsigned long seen = 0;

	if (s->old_slots || vm->window != SHADOW_WINDOW_FORGET)
		return false;
	while (*cursor < s->n_slots) {
		struct shadow_page *page = &s->slots[*cursor];
		u32 *w;
		bool last;

		if (seen >= budget && may_stop_before(s, *cursor))
			return false;
		seen++;
		s->probes++;
		w = page->key ? pair_find(s, page, vm->index) : NULL;
		if (!w) {
			++*cursor;
			continue;
		}
		/*
		 * Removing the page moves the next one of its cluster here:
		 * then look at this slot again.
		 */
		last = page_vms(page) == 1;
		count_remove(s, vm, page, w, PAIR_COUNT(*w));
		if (!last)
			++*cursor;
	}
	/* its events were ignored meanwhile: no pair of it can be left */
	vm->window = SHADOW_WINDOW_WALK;
	return true;
}

bool shadow_window_end(struct shadow *s, struct shadow_vm *vm)
{
	bool dirty = vm->dirty;

	(void)s;	/* its records and tombstones go in the purge */
	vm->window = SHADOW_WINDOW_NONE;
	vm->dirty = false;
	return dirty;
}

/* Records of VMs out of their walk window, left to free. */
static bool recs_to_purge(const struct shadow *s)
{
	unsigned int i;

	if (!s->n_recs)
		return false;
	for (i = 0; i < SHADOW_MAX_VMS; i++)
		if (s->vms[i] && s->vms[i]->n_recs &&
		    s->vms[i]->window != SHADOW_WINDOW_WALK)
			return true;
	return false;
}

bool shadow_window_purge_step(struct shadow *s, unsigned long *cursor,
			      unsigned long budget)
{
	unsigned long end = 1UL << s->rec_bits, seen = 0;

	if (s->old_recs)
		return false;
	if (*cursor == 0 && !recs_to_purge(s))
		return true;
	for (; *cursor < end && seen < budget; ++*cursor) {
		struct shadow_rec **rp = &s->recs[*cursor];

		while (*rp) {
			const struct shadow_vm *vm =
				s->vms[(*rp)->key & INDEX_MASK];

			seen++;
			if (vm->window == SHADOW_WINDOW_WALK)
				rp = &(*rp)->next;
			else
				rec_del(s, rp);
		}
	}
	return *cursor == end;
}

/* --- whole-map operations -------------------------------------------- */

void shadow_clear(struct shadow *s)
{
	unsigned long i;

	for (i = 0; i < s->n_slots; ) {
		struct shadow_page *page = &s->slots[i];

		if (!page->key) {
			i++;
			continue;
		}
		page_gone(s, page);	/* may move another page here */
	}
	for (i = 0; i < 1UL << s->rec_bits; i++)
		while (s->recs[i])
			rec_del(s, &s->recs[i]);
	s->ksm_mappings = 0;
	for (i = 0; i < SHADOW_MAX_VMS; i++) {
		if (!s->vms[i])
			continue;
		memset(&s->vms[i]->counts, 0, sizeof(s->vms[i]->counts));
		s->vms[i]->window = SHADOW_WINDOW_NONE;
		s->vms[i]->dirty = false;
	}
}

const struct shadow_set *shadow_set_next(const struct shadow *s,
					 unsigned int *bucket,
					 const struct shadow_set *prev)
{
	if (prev && prev->hash_next)
		return prev->hash_next;
	if (prev)
		++*bucket;
	for (; *bucket < SHADOW_SET_BUCKETS; ++*bucket)
		if (s->set_buckets[*bucket])
			return s->set_buckets[*bucket];
	return NULL;
}

bool shadow_sets_fix_step(struct shadow *s, unsigned long *cursor,
			  unsigned long budget)
{
	unsigned long seen = 0;

	if (s->old_slots)
		return false;
	for (; *cursor < s->n_slots && s->lost.pages; ++*cursor) {
		struct shadow_page *page = &s->slots[*cursor];
		struct set_key sk;

		if (seen >= budget && may_stop_before(s, *cursor))
			return false;
		seen++;
		if (!page->key || page->set != &s->lost)
			continue;
		seen += page_vms(page);
		key_from_pairs(page, &sk);
		set_move(s, page, set_get(s, &sk));
	}
	return true;
}

unsigned int shadow_wanted_rec_bits(const struct shadow *s)
{
	unsigned int bits = s->rec_bits;

	if (s->old_recs)
		return 0;
	if (s->n_recs > 1UL << bits && bits < 30) {
		while (s->n_recs > 1UL << bits && bits < 30)
			bits++;
		return bits + 1;	/* room to grow before the next rehash */
	}
	/* a window's records are gone: give their buckets back */
	if (bits > MIN_REC_BITS && s->n_recs * 8 < 1UL << bits) {
		for (bits = MIN_REC_BITS; bits < 30 && 1UL << bits < s->n_recs * 2;)
			bits++;
		return bits == s->rec_bits ? 0 : bits;
	}
	return 0;
}

bool shadow_rec_rehash_begin(struct shadow *s, struct shadow_rec **recs,
			     unsigned int bits)
{
	if (s->old_recs)
		return false;	/* one at a time: its chains would be lost */
	s->old_recs = s->recs;
	s->old_rec_bits = s->rec_bits;
	s->recs_moved = 0;
	s->recs = recs;
	s->rec_bits = bits;
	return true;
}

struct shadow_rec **shadow_rec_rehash_step(struct shadow *s, unsigned long n)
{
	struct shadow_rec **old = s->old_recs;
	unsigned long end = 1UL << s->old_rec_bits;

	for (; s->recs_moved < end && n; s->recs_moved++, n--) {
		while (old[s->recs_moved]) {
			struct shadow_rec *rec = old[s->recs_moved];
			u32 h = rec_hash(rec->key, rec->node);
			unsigned long to = h >> (32 - s->rec_bits);

			old[s->recs_moved] = rec->next;
			rec->next = s->recs[to];
			s->recs[to] = rec;
		}
	}
	if (s->recs_moved < end)
		return NULL;
	s->old_recs = NULL;
	s->recs_moved = 0;
	return old;
}

unsigned long shadow_table_bytes(const struct shadow *s)
{
	unsigned long bytes = sizeof(*s);

	bytes += (s->n_slots + s->n_old) * sizeof(struct shadow_page);
	bytes += sizeof(struct shadow_rec *) << s->rec_bits;
	if (s->old_recs)
		bytes += sizeof(struct shadow_rec *) << s->old_rec_bits;
	return bytes;
}

unsigned long shadow_bytes(const struct shadow *s,
			   size_t (*obj_bytes)(enum shadow_obj kind))
{
	unsigned long bytes = shadow_table_bytes(s);
	int kind;

	for (kind = 0; kind < SHADOW_NR_OBJ; kind++)
		bytes += s->objects[kind] * obj_bytes(kind);
	return bytes;
}
