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
 * @n_vms: length of @pairs
 * @n_maps: length of @maps
 */
struct shadow_page {
	const void *node;
	struct shadow_page *hash_next;
	struct shadow_pair *pairs;
	struct shadow_map *maps;
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
	struct shadow_map *map;

	if (page) {
		for (map = page->maps; map; map = map->next)
			if (map->key == key)
				return 0;
		pair = find_pair(page, vm);
	}
	/* Allocate everything first: a failure must change nothing. */
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
		return -ENOMEM;
	}

	if (new_page) {
		new_page->node = node;
		new_page->hash_next = NULL;
		new_page->pairs = NULL;
		new_page->maps = NULL;
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
	obj_free(s, SHADOW_OBJ_PAGE, page);
	s->ksm_pages--;
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
