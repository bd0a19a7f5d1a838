/* SPDX-License-Identifier: GPL-2.0 */
/* libmicrohttpd, loaded when the agent first listens (src/httpd.c): the other subcommands
 * never map it, nor the TLS stack it links (gnutls, p11-kit, nettle, gmp: ~5 ms per exec). */
#ifndef PFNSCOPE_HTTPD_H
#define PFNSCOPE_HTTPD_H

#include <stddef.h>
#include <microhttpd.h>

struct httpd_lib {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
};

/* The library's functions, loaded on the first call; NULL with a one-line reason in @err. */
const struct httpd_lib *httpd_lib(char *err, size_t n);
/* Start loading it on a thread now; httpd_lib() then waits for that load. */
void httpd_preload(void);

#endif /* PFNSCOPE_HTTPD_H */
