/*
 * The output of an exec without a terminal, as dockerd sends it on the
 * attached connection: frames of an 8-byte header (the stream: 0 stdin,
 * 1 stdout, 2 stderr; three zero bytes; the length, 32 bits big-endian)
 * and that many bytes.  Pure: no I/O.
 */
#ifndef QMSD_DOCKER_STREAM_H
#define QMSD_DOCKER_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct docker_stream {
	unsigned char	 head[8];
	size_t		 nhead;
	uint32_t	 left;		/* of the current frame */
	int		 kind;
	int		 broken;
};

typedef void (*docker_stream_fn)(void *, int kind, const char *, size_t);

/*
 * Feed bytes in pieces of any size; fn gets each frame's bytes as they
 * come (a frame may come in several calls).  -1 once a header is not
 * one (the stream is not framed): nothing more is read.
 */
int	 docker_stream_feed(struct docker_stream *, const char *, size_t,
	    docker_stream_fn, void *arg);

#endif
