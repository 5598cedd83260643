/*
 * The web console's static files (console/ and the pinned xterm.js), built
 * into qmsd by daemon/embed.py: served from memory, never from disk.
 */
#ifndef QMSD_CONSOLE_FILES_H
#define QMSD_CONSOLE_FILES_H

#include <stddef.h>

struct http_request;

struct console_file {
	const char		*name;		/* "console.js" */
	const char		*type;		/* its Content-Type */
	const char		*etag;		/* "\"hash\"" of its bytes */
	const unsigned char	*data;
	size_t			 len;
};

/* Generated: NULL-terminated. */
extern const struct console_file console_files[];

const struct console_file *console_file_find(const char *name);
/*
 * Answer a GET or HEAD of a file (404 if there is none such), with headers
 * (NULL-terminated, the console's security headers) added.
 */
void	 console_file_serve(struct http_request *, const char *name,
	    const char *const *headers);

#endif
