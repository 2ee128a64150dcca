// SPDX-License-Identifier: GPL-2.0
/*
 * Planted bugs, for the test rig only: each one proves that a detector of
 * the debug kernel (test/rig/debug-kernel.sh) fires in the rig, so that a
 * run with no report means the module is clean, not that nothing looked.
 *
 * This file is compiled only when make is given KSMVS_PLANTED_BUGS=y
 * (Kbuild), which the packages, DKMS and a plain "make" never do: a
 * module a user builds has neither this code nor its parameter.
 *
 * planted_bugs=NAME[,NAME...] at load runs them, in this order:
 *   lock_order    our tracking lock, then this file's, and the other way
 *                 round (lockdep: circular locking dependency)
 *   atomic_sleep  a GFP_KERNEL allocation under our tracking lock
 *                 (DEBUG_ATOMIC_SLEEP: sleeping function called from
 *                 invalid context)
 *   list          the same entry added to a list twice (DEBUG_LIST)
 *   uaf           a read of a freed object (KASAN: slab-use-after-free)
 *   kfence        reads just outside an object KFENCE allocated
 *   stall         a grace period started, then 15 seconds with
 *                 preemption off (an RCU stall, given a short
 *                 rcupdate.rcu_cpu_stall_timeout)
 *   leak          an object kept by no one after unload (kmemleak)
 * Each is harmless to the running kernel: the lock orders are only taken
 * one after the other, the allocation does not sleep while memory is
 * free, DEBUG_LIST refuses the double add, the reads only read.
 */
#include <linux/kfence.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "ksm_vmshare.h"

static char *planted_bugs;
module_param(planted_bugs, charp, 0444);
MODULE_PARM_DESC(planted_bugs,
		 "testing, in a build for the rig only: bugs to run at load (lock_order, atomic_sleep, list, uaf, kfence, stall, leak)");

static DEFINE_SPINLOCK(planted_lock);
static void *planted_kept;

static bool planted(const char *name)
{
	const char *p = planted_bugs;
	size_t len = strlen(name);

	while (p && *p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static void take_planted_lock(void)
{
	spin_lock(&planted_lock);
	spin_unlock(&planted_lock);
}

static void nothing(void)
{
}

static void allocate_and_free(void)
{
	kfree(kmalloc(64, GFP_KERNEL));
}

static void plant_lock_order(void)
{
	/* tracking lock -> planted lock */
	ksmvs_track_locked_call(take_planted_lock);
	/* planted lock -> tracking lock */
	spin_lock(&planted_lock);
	ksmvs_track_locked_call(nothing);
	spin_unlock(&planted_lock);
}

static void plant_list(void)
{
	LIST_HEAD(head);
	struct list_head entry;

	list_add(&entry, &head);
	list_add(&entry, &head);
}

static noinline u8 read_byte(const u8 *p)
{
	return READ_ONCE(*p);
}

/*
 * An object KFENCE did not hand out: KFENCE samples any allocation, and
 * one of its objects would be reported by it instead of KASAN, or kept
 * from kmemleak. It hands out one per sample interval, so the second try
 * is an ordinary one.
 */
static void *kmalloc_outside_kfence(size_t size)
{
	void *p;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		p = kmalloc(size, GFP_KERNEL);
		if (!p || !is_kfence_address(p))
			return p;
		kfree(p);
	}
	return NULL;
}

static void plant_uaf(void)
{
	u8 *p = kmalloc_outside_kfence(64);

	if (!p)
		return;
	kfree(p);
	pr_info("planted uaf read %u\n", read_byte(p));
}

/*
 * KFENCE hands out one allocation every sample_interval ms, to whoever asks
 * first: ask without pause (a few hundred ms), not between sleeps, where
 * the rest of the kernel wins every time (seen: none in 30 s of 20 ms
 * sleeps).
 */
static void plant_kfence(void)
{
	unsigned long deadline = jiffies + 30 * HZ;
	u8 *p;

	while (time_before(jiffies, deadline)) {
		p = kmalloc(32, GFP_KERNEL);
		if (p && is_kfence_address(p)) {
			/*
			 * KFENCE puts the object at the start or the end of
			 * its page, between guard pages: one of the two reads
			 * lands in a guard page
			 */
			pr_info("planted kfence reads %u %u\n", read_byte(p - 1),
				read_byte(p + 32));
			kfree(p);
			return;
		}
		kfree(p);
		cond_resched();
	}
	pr_warn("planted kfence: no allocation came from KFENCE in 30 s\n");
}

/*
 * A stall is reported only while a grace period waits: start one, then
 * keep this CPU from passing a quiescent state for 15 s. The report
 * ("self-detected stall") comes rcu_cpu_stall_timeout (3 s, the least)
 * plus 5 s (PROVE_RCU's delay) after the grace period starts, 8.7 s into
 * the spin in the rig; the soft-lockup detector would fire (and panic the
 * guest) at 20 s.
 */
static void plant_stall(void)
{
	u64 end = local_clock() + 15 * NSEC_PER_SEC;

	start_poll_synchronize_rcu();
	preempt_disable();
	while (local_clock() < end)
		cpu_relax();
	preempt_enable();
}

void ksmvs_planted_bugs_at_load(void)
{
	if (planted("lock_order"))
		plant_lock_order();
	if (planted("atomic_sleep"))
		ksmvs_track_locked_call(allocate_and_free);
	if (planted("list"))
		plant_list();
	if (planted("uaf"))
		plant_uaf();
	if (planted("kfence"))
		plant_kfence();
	if (planted("stall"))
		plant_stall();
	if (planted("leak"))
		planted_kept = kmalloc_outside_kfence(128);
}

void ksmvs_planted_bugs_at_unload(void)
{
	/* the leak: forgotten, not freed */
	planted_kept = NULL;
}
