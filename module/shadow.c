// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow map: see the DOC block in include/ksm_vmshare/shadow.h.
 * Plain C; built unchanged into the module and into test/unit.
 */
#include <ksm_vmshare/shadow.h>

/**
 * struct shadow_pair - how many mappings one VM has on one KSM page
 * @next: the page's next pair
 * @vm: which VM
 * @count: its mappings of the page, at least 1
 */
struct shadow_pair {
	struct shadow_pair *next;
	struct shadow_vm *vm;
	unsigned long count;
};

/**
 * struct shadow_map - one mapping of a KSM page
 * @next: the page's next mapping
 * @key: page-aligned virtual address | VM index
 */
struct shadow_map {
	struct shadow_map *next;
	unsigned long key;
};

/**
 * struct shadow_page - one KSM page (one stable node)
 * @node: the stable node; the hash key
 * @hash_next: chain in the bucket
 * @pairs: one per VM mapping it
 * @maps: every mapping
 * @set: its VMs' set record (or the shadow's star or lost record)
 * @n_vms: length of @pairs
 * @n_maps: length of @maps
 */
struct shadow_page {
	const void *node;
	struct shadow_page *hash_next;
	struct shadow_pair *pairs;
	struct shadow_map *maps;
	struct shadow_set *set;
	unsigned int n_vms;
	unsigned long n_maps;
};

size_t shadow_obj_size(enum shadow_obj kind)
{
	switch (kind) {
	case SHADOW_OBJ_PAGE:
		return sizeof(struct shadow_page);
	case SHADOW_OBJ_PAIR:
		return sizeof(struct shadow_pair);
	case SHADOW_OBJ_MAP:
		return sizeof(struct shadow_map);
	case SHADOW_OBJ_SET:
		return sizeof(struct shadow_set);
	default:
		return sizeof(struct shadow_vm);
	}
}

#define GOLDEN_RATIO_64 0x61C8864680B583EBULL

static unsigned int hash_bits(const void *p, unsigned int bits)
{
	return (unsigned int)(((unsigned long long)(uintptr_t)p *
			       GOLDEN_RATIO_64) >> (64 - bits));
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
		 struct shadow_page **buckets, unsigned int bucket_bits)
{
	unsigned int i;

	s->ops = ops;
	s->buckets = buckets;
	s->bucket_bits = bucket_bits;
	s->old_buckets = NULL;
	s->old_bits = 0;
	s->moved = 0;
	for (i = 0; i < SHADOW_VM_BUCKETS; i++)
		s->vm_buckets[i] = NULL;
	for (i = 0; i < SHADOW_MAX_VMS; i++)
		s->vms[i] = NULL;
	s->n_vms = 0;
	s->ksm_pages = 0;
	s->ksm_mappings = 0;
	for (i = 0; i < SHADOW_NR_OBJ; i++)
		s->objects[i] = 0;
	for (i = 0; i < SHADOW_SET_BUCKETS; i++)
		s->set_buckets[i] = NULL;
	s->n_sets = 0;
	s->set_max = SHADOW_SET_MAX;
	s->star.pages = 0;
	s->star.n = 0;
	s->lost.pages = 0;
	s->lost.n = 0;
}

static unsigned int vm_bucket(const void *mm)
{
	return hash_bits(mm, 6);	/* 64 == SHADOW_VM_BUCKETS */
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
	vm->mm = mm;
	vm->index = index;
	vm->counts.self_shared = 0;
	vm->counts.inter_shared = 0;
	vm->counts.ksm_mapped = 0;
	vm->hash_next = s->vm_buckets[vm_bucket(mm)];
	s->vm_buckets[vm_bucket(mm)] = vm;
	s->vms[index] = vm;
	s->n_vms++;
	return vm;
}

/* The bucket of node: in the old array while the growth has not moved it. */
static struct shadow_page **bucket_of(struct shadow *s, const void *node)
{
	if (s->old_buckets) {
		unsigned int old = hash_bits(node, s->old_bits);

		if (old >= s->moved)
			return &s->old_buckets[old];
	}
	return &s->buckets[hash_bits(node, s->bucket_bits)];
}

static struct shadow_page **page_slot(struct shadow *s, const void *node)
{
	struct shadow_page **slot = bucket_of(s, node);

	while (*slot && (*slot)->node != node)
		slot = &(*slot)->hash_next;
	return slot;
}

bool shadow_has_page(struct shadow *s, const void *node)
{
	return *page_slot(s, node);
}

static struct shadow_pair *find_pair(struct shadow_page *page,
				     const struct shadow_vm *vm)
{
	struct shadow_pair *pair;

	for (pair = page->pairs; pair; pair = pair->next)
		if (pair->vm == vm)
			return pair;
	return NULL;
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
	for (set = *bucket; set; set = set->hash_next)
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
 * for a page whose set record is not a real one (star, lost, none yet).
 */
static void key_from_pairs(const struct shadow_page *page,
			   struct set_key *key)
{
	const struct shadow_pair *pair;

	key->hash = 0;
	key->n = 0;
	for (pair = page->pairs; pair; pair = pair->next)
		key_add(key, pair->vm->index);
}

/* The key of the page's set before a change: O(members) from its record. */
static void key_of_page(const struct shadow *s, const struct shadow_page *page,
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

/* A VM starts mapping the page: it was mapped by n_vms - 1 VMs before. */
static void vm_arrives(struct shadow_page *page, struct shadow_vm *vm)
{
	if (page->n_vms == 1) {
		vm->counts.self_shared++;
		return;
	}
	if (page->n_vms == 2) {
		/* the one VM that was alone on the page is not any more */
		struct shadow_vm *other = page->pairs->vm == vm ?
			page->pairs->next->vm : page->pairs->vm;

		other->counts.self_shared--;
		other->counts.inter_shared++;
	}
	vm->counts.inter_shared++;
}

/* A VM stops mapping the page: n_vms VMs are left. */
static void vm_departs(struct shadow_page *page, struct shadow_vm *vm)
{
	if (page->n_vms == 0) {
		vm->counts.self_shared--;
		return;
	}
	vm->counts.inter_shared--;
	if (page->n_vms == 1) {
		struct shadow_vm *other = page->pairs->vm;

		other->counts.inter_shared--;
		other->counts.self_shared++;
	}
}

int shadow_join(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		const void *node)
{
	struct shadow_page **slot = page_slot(s, node);
	struct shadow_page *page = *slot, *new_page = NULL;
	struct shadow_pair *pair = NULL, *new_pair = NULL;
	unsigned long key = addr | vm->index;
	struct shadow_set *set = NULL;
	struct shadow_map *map;

	if (page) {
		for (map = page->maps; map; map = map->next)
			if (map->key == key)
				return 0;
		pair = find_pair(page, vm);
	}
	/*
	 * Allocate everything first: a failure must change nothing. A VM
	 * new on the page moves the page to another set.
	 */
	if (!pair) {
		struct set_key sk = { 0 };

		if (page)
			key_of_page(s, page, &sk);
		key_add(&sk, vm->index);
		set = set_get(s, &sk);
		if (!set)
			return -ENOMEM;
	}
	map = obj_alloc(s, SHADOW_OBJ_MAP);
	if (!page) {
		new_page = obj_alloc(s, SHADOW_OBJ_PAGE);
		page = new_page;
	}
	if (!pair) {
		new_pair = obj_alloc(s, SHADOW_OBJ_PAIR);
		pair = new_pair;
	}
	if (!map || !page || !pair) {
		if (map)
			obj_free(s, SHADOW_OBJ_MAP, map);
		if (new_page)
			obj_free(s, SHADOW_OBJ_PAGE, new_page);
		if (new_pair)
			obj_free(s, SHADOW_OBJ_PAIR, new_pair);
		if (set)
			set_put(s, set);	/* frees it if it was made here */
		return -ENOMEM;
	}

	if (new_page) {
		new_page->node = node;
		new_page->hash_next = NULL;
		new_page->pairs = NULL;
		new_page->maps = NULL;
		new_page->set = NULL;
		new_page->n_vms = 0;
		new_page->n_maps = 0;
		*slot = new_page;
		s->ksm_pages++;
	}
	map->key = key;
	map->next = page->maps;
	page->maps = map;
	page->n_maps++;
	if (new_pair) {
		new_pair->vm = vm;
		new_pair->count = 0;
		new_pair->next = page->pairs;
		page->pairs = new_pair;
		page->n_vms++;
		vm_arrives(page, vm);
		set_move(s, page, set);
	}
	pair->count++;
	vm->counts.ksm_mapped++;
	s->ksm_mappings++;
	return 1;
}

static void free_page(struct shadow *s, struct shadow_page **slot)
{
	struct shadow_page *page = *slot;

	*slot = page->hash_next;
	if (page->set) {
		page->set->pages--;
		set_put(s, page->set);
	}
	obj_free(s, SHADOW_OBJ_PAGE, page);
	s->ksm_pages--;
}

/*
 * The page's set after vm's pair went from its list. A record that cannot
 * be allocated leaves the page in lost: a departure cannot be refused.
 */
static void set_after_departure(struct shadow *s, struct shadow_page *page,
				const struct shadow_vm *vm)
{
	struct set_key sk;

	if (real_set(s, page->set)) {
		key_of_page(s, page, &sk);
		key_remove(&sk, vm->index);
	} else {
		key_from_pairs(page, &sk);
	}
	set_move(s, page, set_get(s, &sk));
}

/*
 * n of vm's mappings of the page in *slot are gone, already unlinked and
 * freed: update the VM's pair, the counts and, if it has none left, the
 * page.
 */
static void maps_gone(struct shadow *s, struct shadow_vm *vm,
		      struct shadow_page **slot, unsigned long n)
{
	struct shadow_page *page = *slot;
	struct shadow_pair **pp, *pair;

	page->n_maps -= n;
	vm->counts.ksm_mapped -= n;
	s->ksm_mappings -= n;
	for (pp = &page->pairs; (*pp)->vm != vm; pp = &(*pp)->next)
		;
	pair = *pp;
	pair->count -= n;
	if (!pair->count) {
		*pp = pair->next;
		obj_free(s, SHADOW_OBJ_PAIR, pair);
		page->n_vms--;
		vm_departs(page, vm);
		if (page->n_vms)
			set_after_departure(s, page, vm);
	}
	if (!page->n_maps)
		free_page(s, slot);
}

bool shadow_leave(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		  const void *node)
{
	struct shadow_page **slot = page_slot(s, node);
	struct shadow_page *page = *slot;
	unsigned long key = addr | vm->index;
	struct shadow_map **mp, *map;

	if (!page)
		return false;
	for (mp = &page->maps; *mp && (*mp)->key != key; mp = &(*mp)->next)
		;
	map = *mp;
	if (!map)
		return false;
	*mp = map->next;
	obj_free(s, SHADOW_OBJ_MAP, map);
	maps_gone(s, vm, slot, 1);
	return true;
}

/* Free every mapping and pair of the page, and the page itself. */
static long drop_page(struct shadow *s, struct shadow_page **slot)
{
	struct shadow_page *page = *slot;
	long mappings = page->n_maps;
	bool alone = page->n_vms == 1;

	while (page->maps) {
		struct shadow_map *map = page->maps;

		page->maps = map->next;
		obj_free(s, SHADOW_OBJ_MAP, map);
	}
	while (page->pairs) {
		struct shadow_pair *pair = page->pairs;
		struct shadow_counts *c = &pair->vm->counts;

		page->pairs = pair->next;
		c->ksm_mapped -= pair->count;
		if (alone)
			c->self_shared--;
		else
			c->inter_shared--;
		obj_free(s, SHADOW_OBJ_PAIR, pair);
	}
	s->ksm_mappings -= mappings;
	free_page(s, slot);
	return mappings;
}

long shadow_drop_page(struct shadow *s, const void *node)
{
	struct shadow_page **slot = page_slot(s, node);

	if (!*slot)
		return -1;
	return drop_page(s, slot);
}

void shadow_clear(struct shadow *s)
{
	unsigned int b, i;

	for (b = 0; b < 1U << s->bucket_bits; b++)
		while (s->buckets[b])
			drop_page(s, &s->buckets[b]);
	for (b = s->moved; s->old_buckets && b < 1U << s->old_bits; b++)
		while (s->old_buckets[b])
			drop_page(s, &s->old_buckets[b]);
	for (i = 0; i < SHADOW_MAX_VMS; i++) {
		if (!s->vms[i])
			continue;
		s->vms[i]->counts.self_shared = 0;
		s->vms[i]->counts.inter_shared = 0;
		s->vms[i]->counts.ksm_mapped = 0;
	}
}

/* Unlink and free vm's mappings of one page: how many there were. */
static unsigned long unlink_vm_maps(struct shadow *s, struct shadow_page *page,
				    const struct shadow_vm *vm)
{
	const unsigned long index_mask = SHADOW_MAX_VMS - 1;
	struct shadow_map **mp = &page->maps;
	unsigned long n = 0;

	while (*mp) {
		struct shadow_map *map = *mp;

		if ((map->key & index_mask) == vm->index) {
			*mp = map->next;
			obj_free(s, SHADOW_OBJ_MAP, map);
			n++;
		} else {
			mp = &map->next;
		}
	}
	return n;
}

bool shadow_vm_forget_step(struct shadow *s, struct shadow_vm *vm,
			   unsigned int *cursor, unsigned long budget)
{
	unsigned int end = 1U << s->bucket_bits;
	unsigned long seen = 0;

	if (s->old_buckets)
		return false;
	/* whole buckets, until about budget mappings have been looked at */
	for (; *cursor < end && seen < budget; ++*cursor) {
		struct shadow_page **slot = &s->buckets[*cursor];

		while (*slot) {
			struct shadow_page *page = *slot;
			unsigned long gone;

			seen += 1 + page->n_maps;
			gone = unlink_vm_maps(s, page, vm);
			if (gone)
				maps_gone(s, vm, slot, gone);
			/* maps_gone() may have freed the page in *slot */
			if (*slot == page)
				slot = &page->hash_next;
		}
	}
	return *cursor == end;
}

bool shadow_vm_remove(struct shadow *s, struct shadow_vm *vm)
{
	struct shadow_vm **vp;

	if (vm->counts.ksm_mapped)
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

bool shadow_sets_fix_step(struct shadow *s, unsigned int *cursor,
			  unsigned long budget)
{
	unsigned int end = 1U << s->bucket_bits;
	unsigned long seen = 0;

	if (s->old_buckets)
		return false;
	for (; *cursor < end && seen < budget && s->lost.pages; ++*cursor) {
		struct shadow_page *page;

		for (page = s->buckets[*cursor]; page; page = page->hash_next) {
			struct set_key sk;

			seen += 1 + page->n_vms;
			if (page->set != &s->lost)
				continue;
			key_from_pairs(page, &sk);
			set_move(s, page, set_get(s, &sk));
		}
	}
	return *cursor == end || !s->lost.pages;
}

unsigned int shadow_wanted_bucket_bits(const struct shadow *s)
{
	unsigned int bits = s->bucket_bits;

	if (s->old_buckets || s->ksm_pages <= 1L << bits || bits >= 30)
		return 0;
	while (s->ksm_pages > 1L << bits && bits < 30)
		bits++;
	return bits + 1;	/* room to grow before the next rehash */
}

void shadow_rehash_begin(struct shadow *s, struct shadow_page **buckets,
			 unsigned int bits)
{
	s->old_buckets = s->buckets;
	s->old_bits = s->bucket_bits;
	s->moved = 0;
	s->buckets = buckets;
	s->bucket_bits = bits;
}

struct shadow_page **shadow_rehash_step(struct shadow *s, unsigned int n)
{
	struct shadow_page **old = s->old_buckets;
	unsigned int end = 1U << s->old_bits;

	for (; s->moved < end && n; s->moved++, n--) {
		while (old[s->moved]) {
			struct shadow_page *page = old[s->moved];
			unsigned int to = hash_bits(page->node, s->bucket_bits);

			old[s->moved] = page->hash_next;
			page->hash_next = s->buckets[to];
			s->buckets[to] = page;
		}
	}
	if (s->moved < end)
		return NULL;
	s->old_buckets = NULL;
	s->moved = 0;
	return old;
}
