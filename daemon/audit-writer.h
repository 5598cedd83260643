/*
 * The audit log's writer: a child of qmsd's, forked at start (no exec),
 * that owns the log's descriptor and one end of a socket pair.  It reads
 * whole lines from the loop, appends what has come with one write,
 * fdatasync()s once, and answers "A BYTES" (how far the disk has the
 * stream); "W WHY" while a full disk is waited out (what a failed write
 * left cut off again), "E WHY" before it exits on any other error.  It
 * ends when the loop closes its end.
 */
#ifndef QMSD_AUDIT_WRITER_H
#define QMSD_AUDIT_WRITER_H

#include <stddef.h>

/* The child's life: never returns. */
void	 audit_writer_main(int sock, int fd) __attribute__((noreturn));
/* In the child first: every descriptor closed but these two (and 0-2). */
void	 audit_writer_close_others(int, int);
/* write(2) until all of it is written: 0, or -1 with errno. */
int	 audit_write_all(int fd, const char *, size_t);

#endif
