// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: a recording through everything `pfnscope report` does with it: the block
 * reader (CRCs, zlib, lengths), the JSON header, symbols and /proc/iomem text it carries, the
 * snapshot tables into a report, the findings, and the JSON and HTML writers.
 * Mutations rarely survive a CRC and zlib, so an input starting with "PFZ" followed by a block
 * type byte is that block's payload, uncompressed: the header, snapshot and event decoders are
 * fuzzed directly (with the rest of the pipeline after them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "replay.h"
#include "html.h"
#include "rules.h"

/* A recording of one valid header, then the fuzzed block: what the writer would produce. */
static uint8_t *as_recording(const uint8_t *data, size_t size, size_t *len)
{
	static const char hdr[] = "{\"tool\":\"pfnscope\",\"kernel\":\"fuzz\",\"iomem\":"
				  "\"00000000-0009ffff : System RAM\\n000a0000-000bffff : PCI Bus\\n"
				  "00100000-3fffffff : System RAM\\n\"}";
	struct rec_writer w;
	char path[] = "/tmp/fuzz-recXXXXXX";
	uint8_t *buf = NULL;
	int fd = mkstemp(path);
	FILE *f;

	if (fd < 0)
		return NULL;
	close(fd);
	if (rec_create(&w, path) || rec_write_block(&w, REC_HEADER, hdr, sizeof(hdr) - 1) ||
	    rec_write_block(&w, data[3] % REC__MAX ? data[3] % REC__MAX : REC_SNAPSHOT,
			    data + 4, size - 4) || rec_close(&w, false)) {
		unlink(path);
		return NULL;
	}
	f = fopen(path, "rb");
	if (f) {
		fseek(f, 0, SEEK_END);
		*len = ftell(f);
		rewind(f);
		buf = malloc(*len ? *len : 1);
		if (buf && fread(buf, 1, *len, f) != *len) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
	}
	unlink(path);
	return buf;
}

static int one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *rec;
	size_t len;
	int ret;

	if (size < 4 || memcmp(data, "PFZ", 3))
		return one(data, size);
	rec = as_recording(data, size, &len);
	if (!rec)
		return 0;
	ret = one(rec, len);
	free(rec);
	return ret;
}

static int one(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r"), *out;
	struct rec_reader rd;
	struct replay rp = {};
	struct report rep = { .command = "record" };
	struct policy pol = {};
	char err[256];

	if (!f)
		return 0;
	if (rec_open_file(&rd, f, "fuzz.pfns", err, sizeof(err))) {
		if (!err[0])
			abort();	/* a refusal always says why */
		return 0;
	}
	replay_read(&rp, &rd);
	rec_close_reader(&rd);
	if (rp.have_meta && rp.have_snapshot && !policy_add_builtin(&pol) &&
	    !replay_build(&rp, &rep) && !findings_evaluate(&rep, rp.io, &pol)) {
		out = fopen("/dev/null", "w");
		if (out) {
			report_write_json(&rep, out);
			report_write_html(&rep, out);
			report_print_table(&rep, out);
			fclose(out);
		}
	}
	report_free(&rep);
	replay_free(&rp);
	policy_free(&pol);
	return 0;
}
