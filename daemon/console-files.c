/*
 * Serving the console's embedded files: see console-files.h.  They hold
 * no secret (the page, its script and style, xterm.js), but are served
 * behind the session all the same (console.c): one rule for all of
 * /console/ but the login.
 */
#include <string.h>

#include "console-files.h"
#include "http.h"
#include "util.h"

#define MAX_HEADERS	16

const struct console_file *
console_file_find(const char *name)
{
	const struct console_file	*f;

	for (f = console_files; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return (f);
	return (NULL);
}

void
console_file_serve(struct http_request *r, const char *name,
    const char *const *headers)
{
	const struct console_file	*f;
	const char			*h[MAX_HEADERS], *inm;
	char				 etag[80];
	size_t				 n = 0;

	for (; headers != NULL && *headers != NULL && n < MAX_HEADERS - 4;
	    headers++)
		h[n++] = *headers;
	if ((f = console_file_find(name)) == NULL) {
		h[n] = NULL;
		http_respond(r, 404, h, "text/plain; charset=utf-8",
		    "no such file\n", 13);
		return;
	}
	/* Revalidated on each load: a new qmsd may bring new files. */
	h[n++] = "Cache-Control: private, no-cache";
	snprintf(etag, sizeof(etag), "ETag: %s", f->etag);
	h[n++] = etag;
	h[n] = NULL;
	inm = http_header(r, "If-None-Match");
	if (inm != NULL && strcmp(inm, f->etag) == 0) {
		http_respond(r, 304, h, NULL, "", 0);
		return;
	}
	http_respond(r, 200, h, f->type, (const char *)f->data, f->len);
}
