// SPDX-License-Identifier: GPL-2.0
/*
 * pfnfix - fixture driver for pfnscope's lab tests (Linux 6.1 API).
 *
 * Each misc device reproduces one way a driver can put a page frame into a
 * user mapping, correct or buggy:
 *
 *   /dev/pfnfix_zero      ->fault returns ZERO_PAGE(0) in vmf->page       (bug)
 *   /dev/pfnfix_reserved  ->fault returns PG_reserved driver pages         (bug)
 *   /dev/pfnfix_vga       ->fault returns pfn_to_page() of the VGA hole    (bug)
 *   /dev/pfnfix_pfnmap    VM_PFNMAP|VM_IO, uncached, vmf_insert_pfn of the
 *                         VGA hole                                         (correct)
 *   /dev/pfnfix_mixed     VM_MIXEDMAP, vmf_insert_mixed of owned RAM pages (correct)
 *   /dev/pfnfix_freed     VM_PFNMAP, vmf_insert_pfn of pages already freed (bug)
 *   /dev/pfnfix_mmio_wb   remap_pfn_range of the HPET with the write-back
 *                         vm_page_prot of the VMA                          (bug)
 *   /dev/pfnfix_pin       ioctls that pin user pages and leak or release
 *                         them (see pfnfix_uapi.h)
 *
 * Page offset pgoff of a mapping maps to entry (pgoff % size) of the
 * device's backing set, so any number of pages can be mapped, except on
 * pfnfix_freed (one freed page per mapped page) and pfnfix_mmio_wb (at most
 * MMIO_MAX_PAGES). Devices that insert raw pfns require MAP_SHARED.
 *
 * Read-only counters: /sys/module/pfnfix/parameters/{leaked_pins,
 * freed_inserts,freed_inserts_reused}.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pfn_t.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "pfnfix_uapi.h"

/*
 * 0xA0000-0xBFFFF: the legacy VGA window. Never RAM on a PC (e820 marks it
 * reserved), but x86 allocates struct pages for the whole first MiB, so
 * pfn_to_page() works; those pages are initialised PG_reserved, refcount 1.
 * Under PAT the ISA hole is untracked and always mapped write-back.
 */
#define VGA_PFN		0xa0UL
#define VGA_NPFNS	32UL

/*
 * HPET MMIO at 0xFED00000. The kernel ioremaps it UC- at boot, so PAT
 * silently turns a write-back remap_pfn_range() request into a UC- PTE:
 * the request is the bug, the installed PTE hides it. Mappings may cover up
 * to 1 MiB from there (0xFEDxxxxx, below the local APIC at 0xFEE00000).
 */
#define HPET_PFN	0xfed00UL
#define MMIO_MAX_PAGES	256UL

/*
 * Extra pages freed after the ones pfnfix_freed maps: order-0 frees go to
 * the head of a LIFO per-CPU list, so these absorb the next few order-0
 * allocations (e.g. the page table the first fault allocates) and the
 * mapped pages usually still have refcount 0 when they are inserted.
 */
#define FREED_SLACK	32U
#define FREED_MAX_PAGES	65536UL

static unsigned int pool_pages = 256;
module_param(pool_pages, uint, 0444);
MODULE_PARM_DESC(pool_pages,
		 "pages backing pfnfix_reserved and pfnfix_mixed each (1-65536, default 256)");

static atomic_long_t leaked_pins = ATOMIC_LONG_INIT(0);
static atomic_long_t freed_inserts = ATOMIC_LONG_INIT(0);
static atomic_long_t freed_inserts_reused = ATOMIC_LONG_INIT(0);

static int counter_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(kp->arg));
}

static const struct kernel_param_ops counter_ops = {
	.get = counter_get,
};

module_param_cb(leaked_pins, &counter_ops, &leaked_pins, 0444);
MODULE_PARM_DESC(leaked_pins, "pages pinned by PFNFIX_PIN_LEAK and never unpinned");
module_param_cb(freed_inserts, &counter_ops, &freed_inserts, 0444);
MODULE_PARM_DESC(freed_inserts, "freed pfns inserted by pfnfix_freed faults");
module_param_cb(freed_inserts_reused, &counter_ops, &freed_inserts_reused, 0444);
MODULE_PARM_DESC(freed_inserts_reused,
		 "of those, pages already reallocated (refcount != 0) at insert time");

static struct page **reserved_pool;
static struct page **mixed_pool;

/*
 * vmf_insert_pfn() BUG()s on a VM_PFNMAP VMA that is a copy-on-write
 * mapping (MAP_PRIVATE with VM_MAYWRITE), and a raw pfn cannot be COWed
 * sanely anyway: the pfn devices only accept MAP_SHARED.
 */
static int require_shared(struct vm_area_struct *vma)
{
	return is_cow_mapping(vma->vm_flags) ? -EINVAL : 0;
}

/*
 * Forbid writable shared mappings (now and through a later mprotect()):
 * used where user writes would corrupt memory the driver does not own.
 * Private mappings stay allowed: writes go to a COW copy.
 */
static int forbid_shared_write(struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_SHARED))
		return 0;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	vma->vm_flags &= ~VM_MAYWRITE;
	return 0;
}

/*
 * Common to the ->fault handlers returning a page: the reference taken
 * here is handed to the PTE by finish_fault() and dropped when the PTE is
 * zapped. With no VM_FAULT_LOCKED in the return value, __do_fault() locks
 * the page itself. No ->map_pages, so there is no fault-around: every page
 * takes its own ->fault call.
 */
static vm_fault_t return_page(struct vm_fault *vmf, struct page *page)
{
	get_page(page);
	vmf->page = page;
	return 0;
}

/* ---- /dev/pfnfix_zero ---------------------------------------------------- */

static vm_fault_t zero_fault(struct vm_fault *vmf)
{
	/*
	 * The zero page is never meant to be returned from ->fault: its PTE
	 * is installed as a normal (non-special) page, rmap-counted and
	 * refcounted like a file page. The kernel prints nothing about it.
	 */
	return return_page(vmf, ZERO_PAGE(0));
}

static const struct vm_operations_struct zero_vm_ops = {
	.fault = zero_fault,
};

static int zero_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* A shared writable mapping would let user space scribble on the
	 * system-wide zero page. */
	int ret = forbid_shared_write(vma);

	if (ret)
		return ret;
	vma->vm_ops = &zero_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_reserved ------------------------------------------------ */

static vm_fault_t reserved_fault(struct vm_fault *vmf)
{
	return return_page(vmf, reserved_pool[vmf->pgoff % pool_pages]);
}

static const struct vm_operations_struct reserved_vm_ops = {
	.fault = reserved_fault,
};

static int reserved_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &reserved_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_vga ----------------------------------------------------- */

static vm_fault_t vga_fault(struct vm_fault *vmf)
{
	return return_page(vmf, pfn_to_page(VGA_PFN + vmf->pgoff % VGA_NPFNS));
}

static const struct vm_operations_struct vga_vm_ops = {
	.fault = vga_fault,
};

static int vga_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &vga_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_pfnmap (correct) ---------------------------------------- */

static vm_fault_t pfnmap_fault(struct vm_fault *vmf)
{
	/*
	 * Special PTE, no struct page touched. Returns VM_FAULT_NOPAGE on
	 * success. x86 PAT replaces the uncached request by write-back here
	 * because the ISA hole is untracked (track_pfn_insert()).
	 */
	return vmf_insert_pfn(vmf->vma, vmf->address,
			      VGA_PFN + vmf->pgoff % VGA_NPFNS);
}

static const struct vm_operations_struct pfnmap_vm_ops = {
	.fault = pfnmap_fault,
};

static int pfnmap_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = require_shared(vma);

	if (ret)
		return ret;
	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vma->vm_ops = &pfnmap_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_mixed (correct) ----------------------------------------- */

static vm_fault_t mixed_fault(struct vm_fault *vmf)
{
	struct page *page = mixed_pool[vmf->pgoff % pool_pages];

	/*
	 * x86 has pte_special, so this installs a special PTE without
	 * taking a page reference: the pool must outlive every mapping,
	 * which holds as the VMA pins the file and the file the module.
	 */
	return vmf_insert_mixed(vmf->vma, vmf->address,
				pfn_to_pfn_t(page_to_pfn(page)));
}

static const struct vm_operations_struct mixed_vm_ops = {
	.fault = mixed_fault,
};

static int mixed_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = require_shared(vma);

	if (ret)
		return ret;
	vma->vm_flags |= VM_MIXEDMAP;
	vma->vm_ops = &mixed_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_rampfn (RAM_PFNMAP) -------------------------------------- */

/*
 * Ordinary RAM pages (the mixed pool, which the module owns) inserted by pfn into a VM_PFNMAP
 * VMA: the VM holds no reference, correctness rests on the pool outliving the mapping. Legal
 * but worth an info finding.
 */
static vm_fault_t rampfn_fault(struct vm_fault *vmf)
{
	struct page *page = mixed_pool[vmf->pgoff % pool_pages];

	return vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(page));
}

static const struct vm_operations_struct rampfn_vm_ops = {
	.fault = rampfn_fault,
};

static int rampfn_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = require_shared(vma);

	if (ret)
		return ret;
	vma->vm_flags |= VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &rampfn_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_handpte (BAD_PTE, RSS_IMBALANCE) ------------------------ */

/*
 * The bug: a fault handler that builds the pte by hand (apply_to_page_range + set_pte_at)
 * instead of going through the VM: no rmap, no RSS counter. At munmap zap_pte_range() finds a
 * normal page, decrements MM_FILEPAGES and the mapcount (which goes negative: print_bad_pte),
 * and at exit the kernel prints "Bad rss-counter state". The pages are never returned to the
 * allocator (their mapcount is wrecked) and each mapping takes a reference for the one zap
 * drops.
 */
#define HANDPTE_PAGES 8
static struct page *handpte_pool[HANDPTE_PAGES];

static int handpte_set(pte_t *pte, unsigned long addr, void *data)
{
	struct vm_fault *vmf = data;
	struct page *page = handpte_pool[vmf->pgoff % HANDPTE_PAGES];

	get_page(page);
	set_pte_at(vmf->vma->vm_mm, addr, pte, mk_pte(page, vmf->vma->vm_page_prot));
	return 0;
}

static vm_fault_t handpte_fault(struct vm_fault *vmf)
{
	if (apply_to_page_range(vmf->vma->vm_mm, vmf->address & PAGE_MASK, PAGE_SIZE,
				handpte_set, vmf))
		return VM_FAULT_SIGBUS;
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct handpte_vm_ops = {
	.fault = handpte_fault,
};

static int handpte_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = require_shared(vma);

	if (ret)
		return ret;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &handpte_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_freed ---------------------------------------------------- */

struct freed_map {
	struct kref ref;	/* one per VMA sharing it (splits, mremap) */
	pgoff_t pgoff;		/* vm_pgoff at mmap time */
	unsigned long npages;
	unsigned long pfns[];	/* pfns of pages freed at mmap time */
};

static void freed_map_release(struct kref *ref)
{
	kvfree(container_of(ref, struct freed_map, ref));
}

static void freed_vm_open(struct vm_area_struct *vma)
{
	struct freed_map *fm = vma->vm_private_data;

	kref_get(&fm->ref);
}

static void freed_vm_close(struct vm_area_struct *vma)
{
	struct freed_map *fm = vma->vm_private_data;

	kref_put(&fm->ref, freed_map_release);
}

static vm_fault_t freed_fault(struct vm_fault *vmf)
{
	struct freed_map *fm = vmf->vma->vm_private_data;
	unsigned long idx = vmf->pgoff - fm->pgoff;
	unsigned long pfn;

	if (idx >= fm->npages)
		return VM_FAULT_SIGBUS;
	pfn = fm->pfns[idx];
	atomic_long_inc(&freed_inserts);
	if (page_count(pfn_to_page(pfn)))
		atomic_long_inc(&freed_inserts_reused);
	/* The bug: a pfn of RAM the driver no longer owns. */
	return vmf_insert_pfn(vmf->vma, vmf->address, pfn);
}

static const struct vm_operations_struct freed_vm_ops = {
	.open = freed_vm_open,
	.close = freed_vm_close,
	.fault = freed_fault,
};

static int freed_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long i, n = vma_pages(vma);
	struct page *slack[FREED_SLACK];
	struct freed_map *fm;
	unsigned int s;
	int ret;

	ret = require_shared(vma);
	if (ret)
		return ret;
	/* Read-only: writes would corrupt whoever owns the pages now. */
	ret = forbid_shared_write(vma);
	if (ret)
		return ret;
	if (n > FREED_MAX_PAGES)
		return -EINVAL;

	fm = kvzalloc(struct_size(fm, pfns, n), GFP_KERNEL);
	if (!fm)
		return -ENOMEM;
	kref_init(&fm->ref);
	fm->pgoff = vma->vm_pgoff;
	fm->npages = n;

	for (i = 0; i < n; i++) {
		struct page *page = alloc_page(GFP_KERNEL);

		if (!page) {
			while (i--)
				__free_page(pfn_to_page(fm->pfns[i]));
			kvfree(fm);
			return -ENOMEM;
		}
		fm->pfns[i] = page_to_pfn(page);
	}
	for (s = 0; s < FREED_SLACK; s++)
		slack[s] = alloc_page(GFP_KERNEL);
	for (i = 0; i < n; i++)
		__free_page(pfn_to_page(fm->pfns[i]));
	for (s = 0; s < FREED_SLACK; s++)
		if (slack[s])
			__free_page(slack[s]);

	vma->vm_flags |= VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_private_data = fm;
	vma->vm_ops = &freed_vm_ops;
	return 0;
}

/* ---- /dev/pfnfix_mmio_wb -------------------------------------------------- */

static int mmio_wb_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long size = vma->vm_end - vma->vm_start;
	int ret = require_shared(vma);

	if (ret)
		return ret;
	if (vma_pages(vma) > MMIO_MAX_PAGES)
		return -EINVAL;
	/*
	 * The bug: vma->vm_page_prot is write-back, no pgprot_noncached().
	 * remap_pfn_range() sets VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP
	 * and fills all PTEs now: there are no faults on this mapping.
	 */
	return remap_pfn_range(vma, vma->vm_start, HPET_PFN, size,
			       vma->vm_page_prot);
}

/* ---- /dev/pfnfix_pin ------------------------------------------------------ */

static long pin_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pfnfix_pin __user *uarg = (void __user *)arg;
	unsigned int gup_flags = 0;
	unsigned long start, end;
	struct pfnfix_pin req;
	struct page **pages;
	int npages, ret;

	if (cmd != PFNFIX_PIN_LEAK && cmd != PFNFIX_PIN_BALANCED)
		return -ENOTTY;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~(PFNFIX_PIN_WRITE | PFNFIX_PIN_LONGTERM))
		return -EINVAL;
	if (!req.len || req.addr + req.len < req.addr ||
	    req.addr + req.len > TASK_SIZE_MAX)
		return -EINVAL;
	start = req.addr & PAGE_MASK;
	end = PAGE_ALIGN(req.addr + req.len);
	if ((end - start) >> PAGE_SHIFT > PFNFIX_PIN_MAX_PAGES)
		return -E2BIG;
	npages = (end - start) >> PAGE_SHIFT;

	if (req.flags & PFNFIX_PIN_WRITE)
		gup_flags |= FOLL_WRITE;
	if (req.flags & PFNFIX_PIN_LONGTERM)
		gup_flags |= FOLL_LONGTERM;

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	/* FOLL_PIN: counted in /proc/vmstat nr_foll_pin_acquired/released. */
	ret = pin_user_pages_fast(start, npages, gup_flags, pages);
	if (ret > 0) {
		if (cmd == PFNFIX_PIN_BALANCED)
			unpin_user_pages(pages, ret);
		else	/* leaked: the page pointers are simply forgotten */
			atomic_long_add(ret, &leaked_pins);
	}
	kvfree(pages);
	if (ret < 0)
		return ret;

	req.pinned = ret;
	if (put_user(req.pinned, &uarg->pinned))
		return -EFAULT;
	return ret;
}

/* ---- registration --------------------------------------------------------- */

#define PFNFIX_FOPS(fn) {				\
	.owner = THIS_MODULE,				\
	.mmap = fn,					\
}

static const struct file_operations pfnfix_fops[] = {
	PFNFIX_FOPS(zero_mmap),
	PFNFIX_FOPS(reserved_mmap),
	PFNFIX_FOPS(vga_mmap),
	PFNFIX_FOPS(pfnmap_mmap),
	PFNFIX_FOPS(mixed_mmap),
	PFNFIX_FOPS(freed_mmap),
	PFNFIX_FOPS(mmio_wb_mmap),
	PFNFIX_FOPS(rampfn_mmap),
	PFNFIX_FOPS(handpte_mmap),
	{
		.owner = THIS_MODULE,
		.unlocked_ioctl = pin_ioctl,
		.compat_ioctl = compat_ptr_ioctl,
	},
};

static const char *const pfnfix_names[] = {
	"pfnfix_zero",
	"pfnfix_reserved",
	"pfnfix_vga",
	"pfnfix_pfnmap",
	"pfnfix_mixed",
	"pfnfix_freed",
	"pfnfix_mmio_wb",
	"pfnfix_rampfn",
	"pfnfix_handpte",
	"pfnfix_pin",
};

static_assert(ARRAY_SIZE(pfnfix_names) == ARRAY_SIZE(pfnfix_fops));

static struct miscdevice pfnfix_misc[ARRAY_SIZE(pfnfix_names)];

static void pool_free(struct page **pool, bool reserved)
{
	unsigned int i;

	if (!pool)
		return;
	for (i = 0; i < pool_pages; i++) {
		if (!pool[i])
			continue;
		/* PG_reserved is checked at free time ("Bad page state"). */
		if (reserved)
			ClearPageReserved(pool[i]);
		__free_page(pool[i]);
	}
	kfree(pool);
}

static struct page **pool_alloc(bool reserved)
{
	struct page **pool;
	unsigned int i;

	pool = kcalloc(pool_pages, sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return NULL;
	for (i = 0; i < pool_pages; i++) {
		pool[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pool[i]) {
			pool_free(pool, reserved);
			return NULL;
		}
		if (reserved)
			SetPageReserved(pool[i]);
	}
	return pool;
}

static void pfnfix_cleanup(unsigned int registered)
{
	while (registered--)
		misc_deregister(&pfnfix_misc[registered]);
	/* No mapping is left: each VMA holds its file, each file the module. */
	pool_free(mixed_pool, false);
	pool_free(reserved_pool, true);
}

static int __init pfnfix_init(void)
{
	unsigned int i;
	int ret;

	if (pool_pages < 1 || pool_pages > 65536)
		return -EINVAL;
	reserved_pool = pool_alloc(true);
	mixed_pool = pool_alloc(false);
	if (!reserved_pool || !mixed_pool) {
		pfnfix_cleanup(0);
		return -ENOMEM;
	}
	/* leaked on purpose at exit: their mapcount is corrupted by design */
	for (i = 0; i < HANDPTE_PAGES; i++) {
		handpte_pool[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!handpte_pool[i]) {
			pfnfix_cleanup(0);
			return -ENOMEM;
		}
	}

	for (i = 0; i < ARRAY_SIZE(pfnfix_misc); i++) {
		pfnfix_misc[i] = (struct miscdevice) {
			.minor = MISC_DYNAMIC_MINOR,
			.name = pfnfix_names[i],
			.fops = &pfnfix_fops[i],
			.mode = 0666,
		};
		ret = misc_register(&pfnfix_misc[i]);
		if (ret) {
			pr_err("cannot register /dev/%s: %d\n", pfnfix_names[i], ret);
			pfnfix_cleanup(i);
			return ret;
		}
	}
	pr_info("%zu devices registered, pool_pages=%u\n",
		ARRAY_SIZE(pfnfix_misc), pool_pages);
	return 0;
}

static void __exit pfnfix_exit(void)
{
	pfnfix_cleanup(ARRAY_SIZE(pfnfix_misc));
}

module_init(pfnfix_init);
module_exit(pfnfix_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pfnscope test fixtures: drivers mapping zero, reserved, non-RAM, freed and MMIO pfns");
