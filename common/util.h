#ifndef QMSD_UTIL_H
#define QMSD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct timeval;

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* "100ms", "5s", "2m", "1h" (a unit is required) into milliseconds. */
int	 parse_duration(const char *, uint64_t *ms);
/* "512", "64K", "1M", "1G" (powers of 1024) into bytes. */
int	 parse_size(const char *, uint64_t *bytes);
/* A whole decimal number in [min, max]. */
int	 parse_number(const char *, long long min, long long max, long long *);

/* Milliseconds on the monotonic clock. */
uint64_t now_ms(void);
/* The wall clock in milliseconds, for what is shown or kept as a date. */
uint64_t wall_ms(void);
/* ms as a struct timeval, for a timer. */
void	 timeval_ms(struct timeval *, uint64_t ms);
/* RFC 3339 UTC with seconds: "2026-11-27T00:03:40Z". */
void	 format_time(time_t, char *, size_t);
/*
 * An ISO 8601 UTC time into milliseconds since the epoch: a day
 * ("2026-12-05", its midnight), or a day and a time with "Z", to the
 * minute, the second or a fraction of one ("2026-12-05T14:10:29.123Z").
 */
int	 parse_time(const char *, uint64_t *ms);
/*
 * A moment given as parse_time's, or as a time ago from now (in ms since
 * the epoch): "30s", "10m", "2h", "3d".
 */
int	 parse_since(const char *, uint64_t now, uint64_t *ms);
/* "3d4h", "4m12s", "0.84s": a short human duration. */
void	 format_duration(uint64_t ms, char *, size_t);

void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* argv_copy, or exit for want of memory. */
char	**xargv_copy(char *const *);

/*
 * Where the control socket is by default: a qmsd of the user's own, under
 * $XDG_RUNTIME_DIR (not for root), else the system's.  The user's path, or
 * NULL where there is none; free it.
 */
#define QMSD_SYSTEM_SOCKET	"/run/qmsd/qmsd.sock"
char	*default_user_socket(void);

/* mkdir -p with a mode for the components it creates. */
int	 mkdir_p(const char *, unsigned int mode);
/* Whether len bytes of a and b are equal, in time that depends on len only. */
int	 equal_secret(const void *a, const void *b, size_t len);
/* The value of a hex digit, either case; -1 for any other byte. */
int	 hex_value(unsigned char);

#endif
