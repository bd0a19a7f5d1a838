// SPDX-License-Identifier: GPL-2.0
/*
 * libmicrohttpd through dlopen(). Linked the usual way it made every pfnscope process map
 * libmicrohttpd and its TLS dependencies (gnutls, p11-kit, nettle, hogweed, gmp, tasn1, idn2,
 * unistring, ffi) and run their constructors: 9.8 ms from exec to exit of an empty program
 * linked like pfnscope against 4.8 without -lmicrohttpd (perf stat -r 20, host 6.18). Only the
 * agent serves HTTP. MHD_SONAME comes from the Makefile (the SONAME of the library built
 * against, libmicrohttpd.so.12 on Debian 12). The agent has it loaded on a thread
 * (httpd_preload()) while its own start-up runs: 10-17 ms of the dynamic loader's time and the
 * libraries' constructors that then no longer come before the hooks are attached.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include "pfnscope.h"
#include "httpd.h"

#ifndef MHD_SONAME
#define MHD_SONAME "libmicrohttpd.so.12"
#endif

static struct httpd_lib lib;
static const struct httpd_lib *loaded;
static char why[160];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int sym(void *h, const char *name, void *slot)
{
	void *f = dlsym(h, name);

	if (!f) {
		snprintf(why, sizeof(why), "%s has no %s", MHD_SONAME, name);
		return -1;
	}
	*(void **)slot = f;
	return 0;
}

static void load(void)
{
	void *h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, sizeof(why), "cannot load %s: %s (install libmicrohttpd12)",
			 MHD_SONAME, dlerror());
		return;
	}
	if (sym(h, "MHD_start_daemon", &lib.start_daemon) ||
	    sym(h, "MHD_stop_daemon", &lib.stop_daemon) ||
	    sym(h, "MHD_create_response_from_buffer", &lib.create_response_from_buffer) ||
	    sym(h, "MHD_add_response_header", &lib.add_response_header) ||
	    sym(h, "MHD_queue_response", &lib.queue_response) ||
	    sym(h, "MHD_destroy_response", &lib.destroy_response)) {
		dlclose(h);
		return;
	}
	loaded = &lib;	/* the handle stays open for the life of the process */
}

static void *preload(void *arg)
{
	(void)arg;
	pthread_once(&once, load);
	return NULL;
}

void httpd_preload(void)
{
	pthread_attr_t a;
	pthread_t t;

	if (pthread_attr_init(&a))
		return;
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, preload, NULL))
		pr_debug("libmicrohttpd is loaded when needed, not ahead");
	pthread_attr_destroy(&a);
}

const struct httpd_lib *httpd_lib(char *err, size_t n)
{
	pthread_once(&once, load);
	if (!loaded && err)
		snprintf(err, n, "%s", why);
	return loaded;
}
