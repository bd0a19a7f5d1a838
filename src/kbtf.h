/* SPDX-License-Identifier: GPL-2.0 */
/* One parse of the kernel's BTF shared by the planner and every libbpf object load (kbtf.c). */
#ifndef PFNSCOPE_KBTF_H
#define PFNSCOPE_KBTF_H

/* From here on btf__load_vmlinux_btf() hands every caller the same parse. */
void kbtf_hold(void);
/* Stop sharing and free the shared parse (after the last object has loaded). */
void kbtf_release(void);

#endif /* PFNSCOPE_KBTF_H */
