#include <stdlib.h>
#include <string.h>

#include "url.h"

int
url_host_port(const char *url, char *host, size_t hostlen, int *port)
{
	const char	*h, *hend, *p;
	char		*end;
	long		 n;

	if (strncmp(url, "http://", 7) != 0)
		return (-1);
	h = url + 7;
	if (*h == '[') {
		if ((hend = strchr(h, ']')) == NULL)
			return (-1);
		p = hend + 1;
		h++;
	} else {
		hend = h + strcspn(h, ":/?#");
		p = hend;
	}
	if (hend == h || *p != ':')
		return (-1);
	n = strtol(p + 1, &end, 10);
	if (end == p + 1 || n < 1 || n > 65535 ||
	    (*end != '\0' && *end != '/'))
		return (-1);
	if (host != NULL) {
		if ((size_t)(hend - h) >= hostlen)
			return (-1);
		memcpy(host, h, (size_t)(hend - h));
		host[hend - h] = '\0';
	}
	if (port != NULL)
		*port = (int)n;
	return (0);
}
