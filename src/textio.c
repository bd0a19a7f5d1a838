// SPDX-License-Identifier: GPL-2.0
/* Line reading for the parsers of outside text (/proc/iomem, /proc/kallsyms). */
#include <string.h>
#include "textio.h"

/* fgets() for one line of @f: 0 for a whole line, 1 for one longer than @size - 2 (its rest is
 * read and dropped), 2 for one with a NUL byte before its newline (both to be skipped), -1 at the
 * end. The sentinel tells the cases apart: fgets() overwrites the last byte only on a full buffer,
 * and a NUL byte hides the newline from strchr(). */
int read_line(char *line, size_t size, FILE *f)
{
	int c;

	line[size - 1] = 'x';
	if (!fgets(line, size, f))
		return -1;
	if (strchr(line, '\n') || feof(f))
		return 0;
	if (line[size - 1] || line[size - 2] == '\n')
		return 2;
	while ((c = fgetc(f)) != EOF && c != '\n')
		;
	return 1;
}
