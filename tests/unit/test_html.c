// SPDX-License-Identifier: GPL-2.0
/* The HTML report: charts from the timeline, findings, escaping of names the traced processes
 * chose, no kernel addresses. PFNSCOPE_HTML_DIR=DIR keeps each page as DIR/<test>.html (for
 * tests/lib/html_check.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "report.h"
#include "html.h"

#define NR_SAMPLES 5
#define MAX_VMAS 12

static struct vma_row vmas[MAX_VMAS];
static struct finding finding;
static struct timeline_vma tl_vmas[NR_SAMPLES][MAX_VMAS];
static struct timeline_sample samples[NR_SAMPLES];
static struct pins_sample pins[3];
static struct plan plan;

/* A report of @nv VMAs (the first two: a driver mapping and a hostile name), one finding,
 * @ns timeline samples, 3 pin samples. */
static void build(struct report *r, size_t nv, size_t ns)
{
	memset(r, 0, sizeof(*r));
	memset(vmas, 0, sizeof(vmas));
	r->command = "check";
	strcpy(r->kernel, "6.1.0-test-amd64");
	strcpy(r->argv, "./mapper --dev /dev/pfnfix_0");
	r->started = 1764201600;
	r->duration_s = 0.8;
	for (int h = 0; h < HOOK__MAX; h++) {
		plan.hooks[h].def = &hook_defs[h];
		plan.hooks[h].chosen = h == HOOK_BAD_PTE ? -1 : 0;
		plan.hooks[h].status = h == HOOK_BAD_PTE ? HOOK_UNAVAILABLE : HOOK_ATTACHED;
	}
	r->plan = &plan;
	for (size_t i = 0; i < nv; i++) {
		struct vma_row *v = &vmas[i];

		v->key.tgid = 4242;
		v->key.vma_cookie = 0xffff888012345678ULL;
		v->val.vm_start = v->key.vm_start = 0x7f1200000000ULL + i * 0x100000;
		v->val.vm_end = v->val.vm_start + 0x8000;
		v->val.vm_ops = 0xffffffffc0003000ULL;
		v->val.fault_fn = 0xffffffffc0001000ULL;
		v->val.mmap_fn = 0xffffffffc0002000ULL;
		v->val.faults = 8 + i;
		v->val.rss_in[RSS_ANON] = 8;
		v->val.kind = VMA_KIND_ANON;
		strcpy(v->val.comm, "mapper");
		snprintf(v->name, sizeof(v->name), "lib%zu.so", i);
		strcpy(v->vm_ops, "-");
		strcpy(v->fault_handler, "-");
		strcpy(v->mmap_handler, "-");
	}
	vmas[0].val.kind = VMA_KIND_FILE;
	strcpy(vmas[0].name, "pfnfix_0");
	strcpy(vmas[0].vm_ops, "pfnfix_vm_ops [pfnfix]");
	strcpy(vmas[0].fault_handler, "pfnfix_fault [pfnfix]");
	strcpy(vmas[0].module, "pfnfix");
	vmas[0].pages_by_class[CLASS_MMIO] = 8;
	strcpy(vmas[1].name, "<script>alert(1)</script>");
	strcpy(vmas[1].val.comm, "a\"&<b>");
	r->vmas = vmas;
	r->nr_vmas = nv;

	finding = (struct finding){ .rule = RULE_MMIO_CACHED, .severity = SEV_WARNING,
				    .vma = &vmas[0], .count = 8, .example_pfn = 0xfe000,
				    .cls = CLASS_MMIO, .src = SRC_PFN_INSERT, .req_cache = 0,
				    .inst_cache = 2, .member = -1 };
	strcpy(finding.region, "PCI Bus 0000:00");
	r->findings = &finding;
	r->nr_findings = 1;

	for (size_t s = 0; s < ns; s++) {
		samples[s].t_ns = 5000000000ULL + s * 200000000ULL;	/* every 200 ms */
		samples[s].vmas = tl_vmas[s];
		samples[s].nr = nv;
		for (size_t i = 0; i < nv; i++) {
			tl_vmas[s][i] = (struct timeline_vma){ .pid = 4242,
							       .vm_start = vmas[i].val.vm_start };
			tl_vmas[s][i].rss[RSS_ANON] = (s + 1) * (i + 1) * 16;
			tl_vmas[s][i].rss[RSS_FILE] = i == 0 ? 300 : 0;
			tl_vmas[s][i].faults = s * s * 40 * (i + 1);
		}
	}
	r->timeline = samples;
	r->nr_samples = ns;
	r->timeline_ms = 200;
	for (int i = 0; i < 3; i++)
		pins[i] = (struct pins_sample){ 5000000000ULL + i * 400000000ULL, i * 512 };
	r->pin_samples = ns ? pins : NULL;
	r->nr_pin_samples = ns ? 3 : 0;
}

/* Renders @r into memory (kept under $PFNSCOPE_HTML_DIR as @name.html); caller frees. */
static char *render(const struct report *r, const char *name)
{
	const char *dir = getenv("PFNSCOPE_HTML_DIR");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_write_html(r, f), 0);
	assert_int_equal(fclose(f), 0);
	if (dir) {
		char path[4096];
		FILE *out;

		snprintf(path, sizeof(path), "%s/%s.html", dir, name);
		out = fopen(path, "w");
		assert_non_null(out);
		fwrite(buf, 1, len, out);
		fclose(out);
	}
	return buf;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* Points in the first polyline after @from. */
static int polyline_points(const char *from)
{
	const char *p = strstr(from, "<polyline"), *end;
	int n = 1;

	assert_non_null(p);
	p = strstr(p, "points=\"");
	assert_non_null(p);
	p += strlen("points=\"");
	end = strchr(p, '"');
	for (; p < end; p++)
		n += *p == ' ';
	return n;
}

static void test_charts(void **state)
{
	struct report r;
	char *html;

	build(&r, 2, NR_SAMPLES);
	html = render(&r, "charts");
	assert_int_equal(count(html, "<svg "), 3);
	assert_int_equal(count(html, "class=\"chart\""), 3);
	assert_non_null(strstr(html, "id=\"chart-faults\""));
	assert_non_null(strstr(html, "id=\"chart-rss\""));
	assert_non_null(strstr(html, "id=\"chart-pins\""));
	assert_int_equal(count(html, "<title>"), 3 + 1 + 1 + 2 + 1);	/* page, charts, lines */
	/* RSS: one point per sample; faults/s: one per interval; pins: one per pin sample */
	assert_int_equal(polyline_points(strstr(html, "id=\"chart-rss\"")), NR_SAMPLES);
	assert_int_equal(polyline_points(strstr(html, "id=\"chart-faults\"")), NR_SAMPLES - 1);
	assert_int_equal(polyline_points(strstr(html, "id=\"chart-pins\"")), 3);
	assert_non_null(strstr(html, "pid 4242 7f1200000000 pfnfix_0"));	/* legend */
	assert_non_null(strstr(html, "faults/s"));
	assert_null(strstr(html, "no timeline in this recording"));

	assert_non_null(strstr(html, rules[RULE_MMIO_CACHED].id));
	assert_non_null(strstr(html, rules[RULE_MMIO_CACHED].explain));
	assert_non_null(strstr(html, "0xfe000"));
	assert_non_null(strstr(html, "PCI Bus 0000:00"));
	assert_non_null(strstr(html, "./mapper --dev /dev/pfnfix_0"));
	assert_non_null(strstr(html, "6.1.0-test-amd64"));
	assert_non_null(strstr(html, "2025-11-27 00:00:00 UTC"));
	assert_non_null(strstr(html, PFNSCOPE_VERSION));
	assert_non_null(strstr(html, hook_defs[HOOK_BAD_PTE].lost));

	/* hostile names are text, and no JavaScript at all */
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "a&quot;&amp;&lt;b&gt;"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<b>"));
	/* no vm_ops, fault_fn, mmap_fn or cookie */
	assert_null(strstr(html, "0xffff"));
	assert_null(strstr(html, "ffffffffc000"));
	assert_null(strstr(html, "ffff888012345678"));
	free(html);
}

static void test_no_timeline(void **state)
{
	struct report r;
	char *html;

	build(&r, 2, 0);
	html = render(&r, "no-timeline");
	assert_null(strstr(html, "<svg"));
	assert_int_equal(count(html, "no timeline in this recording"), 3);
	assert_non_null(strstr(html, rules[RULE_MMIO_CACHED].id));
	free(html);
}

/* Beyond 8 VMAs the smallest are summed into "other"; a suppressed finding is listed apart. */
static void test_other_and_suppressed(void **state)
{
	struct report r;
	char *html, *rss;

	build(&r, MAX_VMAS, NR_SAMPLES);
	finding.severity = SEV_NONE;
	html = render(&r, "many-vmas");
	rss = strstr(html, "id=\"chart-rss\"");
	assert_non_null(rss);
	*strstr(rss, "</svg>") = '\0';
	assert_int_equal(count(rss, "<polyline"), 9);
	assert_non_null(strstr(rss, "other (4 VMAs)"));
	/* the largest VMA comes first */
	assert_non_null(strstr(rss, "pid 4242 7f1200b00000 lib11.so"));
	assert_true(strstr(rss, "lib11.so") < strstr(rss, "lib10.so"));
	assert_non_null(strstr(html, "1 finding suppressed by policy"));
	assert_non_null(strstr(html, "No findings."));
	free(html);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_charts),
		cmocka_unit_test(test_no_timeline),
		cmocka_unit_test(test_other_and_suppressed),
	};
	return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
