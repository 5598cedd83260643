/*
 * Docker's multiplexed exec stream; see docker-stream.h.
 */
#include <string.h>

#include "docker-stream.h"

int
docker_stream_feed(struct docker_stream *ds, const char *data, size_t len,
    docker_stream_fn fn, void *arg)
{
	size_t	n;

	while (len > 0 && !ds->broken) {
		if (ds->left == 0) {
			n = sizeof(ds->head) - ds->nhead;
			if (n > len)
				n = len;
			memcpy(ds->head + ds->nhead, data, n);
			ds->nhead += n;
			data += n;
			len -= n;
			if (ds->nhead < sizeof(ds->head))
				break;
			ds->nhead = 0;
			if (ds->head[0] > 2 || ds->head[1] != 0 ||
			    ds->head[2] != 0 || ds->head[3] != 0) {
				ds->broken = 1;
				break;
			}
			ds->kind = ds->head[0];
			ds->left = (uint32_t)ds->head[4] << 24 |
			    (uint32_t)ds->head[5] << 16 |
			    (uint32_t)ds->head[6] << 8 | ds->head[7];
			continue;
		}
		n = ds->left < len ? ds->left : len;
		fn(arg, ds->kind, data, n);
		ds->left -= (uint32_t)n;
		data += n;
		len -= n;
	}
	return (ds->broken ? -1 : 0);
}
