// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include "pfnscope.h"
#include "recmeta.h"

static char *slurp(const char *path)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			n = realloc(buf, cap);
			if (!n)
				break;
			buf = n;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);

		if (!got)
			break;
		len += got;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

json_object *rec_meta_json(const struct plan *plan, const char *what, unsigned int interval_ms,
			   unsigned int trace_mask)
{
	json_object *o = json_object_new_object(), *hooks = json_object_new_array();
	struct utsname uts;
	char *iomem = slurp("/proc/iomem");

	uname(&uts);
	json_object_object_add(o, "tool", json_object_new_string("pfnscope"));
	json_object_object_add(o, "version", json_object_new_string(PFNSCOPE_VERSION));
	json_object_object_add(o, "kernel", json_object_new_string(uts.release));
	json_object_object_add(o, "machine", json_object_new_string(uts.machine));
	json_object_object_add(o, "target", json_object_new_string(what));
	json_object_object_add(o, "started", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "interval_ms", json_object_new_int(interval_ms));
	json_object_object_add(o, "trace_mask", json_object_new_int64(trace_mask));
	json_object_object_add(o, "backend", json_object_new_string(backend_name(plan->backend)));
	json_object_object_add(o, "btf", json_object_new_boolean(plan->btf));
	json_object_object_add(o, "kprobe_pmu", json_object_new_boolean(plan->kprobe_pmu));
	json_object_object_add(o, "tracefs", json_object_new_boolean(plan->tracefs));
	for (int h = 0; h < HOOK__MAX; h++) {
		json_object *ho = json_object_new_object();

		json_object_object_add(ho, "hook", json_object_new_string(hook_defs[h].name));
		json_object_object_add(ho, "status", json_object_new_int(plan->hooks[h].status));
		json_object_object_add(ho, "chosen", json_object_new_int(plan->hooks[h].chosen));
		json_object_object_add(ho, "error", json_object_new_string(plan->hooks[h].error));
		json_object_array_add(hooks, ho);
	}
	json_object_object_add(o, "plan", hooks);
	/* physical addresses, not kernel pointers: the classes of pfns depend on them */
	json_object_object_add(o, "iomem", json_object_new_string(iomem ? iomem : ""));
	free(iomem);
	return o;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static long long int_of(json_object *o, const char *key, long long dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ?
	       json_object_get_int64(v) : dflt;
}

static bool bool_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

int rec_meta_parse(const char *text, size_t len, struct rec_meta *m)
{
	json_tokener *tok = json_tokener_new();
	json_object *o, *hooks;
	const char *s;

	memset(m, 0, sizeof(*m));
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, text, len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !(s = str_of(o, "tool")) || strcmp(s, "pfnscope")) {
		json_object_put(o);
		return -EINVAL;
	}
	snprintf(m->kernel, sizeof(m->kernel), "%s", str_of(o, "kernel") ?: "?");
	snprintf(m->what, sizeof(m->what), "%s", str_of(o, "target") ?: "?");
	m->started = int_of(o, "started", 0);
	m->interval_ms = int_of(o, "interval_ms", 0);
	m->trace_mask = int_of(o, "trace_mask", 0);
	m->iomem_text = strdup(str_of(o, "iomem") ?: "");
	for (int h = 0; h < HOOK__MAX; h++) {
		m->plan.hooks[h].def = &hook_defs[h];
		m->plan.hooks[h].chosen = -1;
		m->plan.hooks[h].status = HOOK_UNAVAILABLE;
	}
	s = str_of(o, "backend");
	if (s)
		parse_backend(s, &m->plan.backend);
	m->plan.btf = bool_of(o, "btf");
	m->plan.kprobe_pmu = bool_of(o, "kprobe_pmu");
	m->plan.tracefs = bool_of(o, "tracefs");
	if (json_object_object_get_ex(o, "plan", &hooks) &&
	    json_object_is_type(hooks, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(hooks); i++) {
			json_object *ho = json_object_array_get_idx(hooks, i);
			const char *name = str_of(ho, "hook");
			long long st = int_of(ho, "status", -1), ch = int_of(ho, "chosen", -1);

			for (int h = 0; name && h < HOOK__MAX; h++) {
				struct hook_plan *hp = &m->plan.hooks[h];

				if (strcmp(name, hook_defs[h].name))
					continue;
				if (st >= HOOK_UNAVAILABLE && st <= HOOK_NOT_REQUESTED)
					hp->status = st;
				/* a candidate index of this build: only if it names one */
				if (ch >= 0 && ch < MAX_CANDIDATES && hook_defs[h].cand[ch].target)
					hp->chosen = ch;
				else if (hp->status == HOOK_ATTACHED)
					hp->status = HOOK_UNAVAILABLE;
				snprintf(hp->error, sizeof(hp->error), "%s", str_of(ho, "error") ?: "");
			}
		}
	}
	json_object_put(o);
	return m->iomem_text ? 0 : -ENOMEM;
}

void rec_meta_free(struct rec_meta *m)
{
	free(m->iomem_text);
	m->iomem_text = NULL;
}
