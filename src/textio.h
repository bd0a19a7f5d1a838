/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PFNSCOPE_TEXTIO_H
#define PFNSCOPE_TEXTIO_H

#include <stdio.h>

/* fgets() for one line of @f: 0 for a whole line, 1 for one longer than @size - 2 (its rest is
 * read and dropped), 2 for one with a NUL byte before its newline (both to be skipped), -1 at
 * the end. */
int read_line(char *line, size_t size, FILE *f);

#endif /* PFNSCOPE_TEXTIO_H */
