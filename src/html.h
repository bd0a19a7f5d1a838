/* SPDX-License-Identifier: GPL-2.0 */
/* A report as one self-contained HTML page: header, attach plan, findings, VMAs and inline SVG
 * charts of the timeline. Opens offline, needs no JavaScript. */
#ifndef PFNSCOPE_HTML_H
#define PFNSCOPE_HTML_H

#include <stdio.h>

struct report;

/* Writes the page to @f. Returns 0, or -errno (-ENOMEM, -EIO on a write error). */
int report_write_html(const struct report *r, FILE *f);

#endif /* PFNSCOPE_HTML_H */
