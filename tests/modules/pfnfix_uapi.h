/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pfnfix_uapi.h - ioctl interface of /dev/pfnfix_pin (tests/modules/pfnfix.c).
 * Usable from the kernel module and from (static) userspace workloads.
 */
#ifndef PFNFIX_UAPI_H
#define PFNFIX_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Flags for struct pfnfix_pin.flags */
#define PFNFIX_PIN_WRITE	(1u << 0)	/* pin with FOLL_WRITE */
#define PFNFIX_PIN_LONGTERM	(1u << 1)	/* pin with FOLL_LONGTERM */

struct pfnfix_pin {
	__u64 addr;	/* in: user address (need not be page aligned) */
	__u64 len;	/* in: length in bytes; every page it touches is pinned */
	__u32 flags;	/* in: PFNFIX_PIN_* */
	__u32 pinned;	/* out: number of pages pinned */
};

/*
 * Both ioctls return the number of pages pinned (>= 0) or -1/errno.
 * PFNFIX_PIN_LEAK:     pin_user_pages_fast() and never unpin (the pins are
 *                      leaked for good, also after the process exits).
 * PFNFIX_PIN_BALANCED: pin_user_pages_fast(), then unpin_user_pages()
 *                      before returning.
 * At most PFNFIX_PIN_MAX_PAGES pages per call.
 */
#define PFNFIX_IOC_MAGIC	'P'
#define PFNFIX_PIN_LEAK		_IOWR(PFNFIX_IOC_MAGIC, 1, struct pfnfix_pin)
#define PFNFIX_PIN_BALANCED	_IOWR(PFNFIX_IOC_MAGIC, 2, struct pfnfix_pin)
#define PFNFIX_PIN_MAX_PAGES	65536

#endif /* PFNFIX_UAPI_H */
