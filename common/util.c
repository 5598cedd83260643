#include <sys/stat.h>
#include <sys/time.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "log.h"
#include "util.h"

/* Split "123unit" into its number and its unit; the number must fit. */
static int
number_unit(const char *s, uint64_t *n, const char **unit)
{
	char			*end;
	unsigned long long	 v;

	if (!isdigit((unsigned char)s[0]))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return (-1);
	*n = v;
	*unit = end;
	return (0);
}

int
parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	const char	*unit;
	uint64_t	 n;
	size_t		 i;

	if (number_unit(s, &n, &unit) == -1)
		return (-1);
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(unit, units[i].unit) != 0)
			continue;
		if (n > UINT64_MAX / units[i].ms)
			return (-1);
		*ms = n * units[i].ms;
		return (0);
	}
	return (-1);
}

int
parse_size(const char *s, uint64_t *bytes)
{
	const char	*unit;
	uint64_t	 n, mult;

	if (number_unit(s, &n, &unit) == -1)
		return (-1);
	if (strcmp(unit, "") == 0)
		mult = 1;
	else if (strcmp(unit, "K") == 0)
		mult = 1ULL << 10;
	else if (strcmp(unit, "M") == 0)
		mult = 1ULL << 20;
	else if (strcmp(unit, "G") == 0)
		mult = 1ULL << 30;
	else
		return (-1);
	if (n > UINT64_MAX / mult)
		return (-1);
	*bytes = n * mult;
	return (0);
}

int
parse_number(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (!isdigit((unsigned char)s[0]) && s[0] != '-')
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

void
timeval_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

uint64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

void
format_time(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* n digits at *sp, as a number in [min, max]; *sp moves past them. */
static int
digits(const char **sp, int n, int min, int max, int *out)
{
	const char	*s = *sp;
	int		 i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return (-1);
	*sp = s + n;
	*out = v;
	return (0);
}

int
parse_time(const char *s, uint64_t *ms)
{
	static const int	 mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int			 y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, n;
	int64_t			 days;

	if (digits(&s, 4, 1970, 9999, &y) == -1 || *s++ != '-' ||
	    digits(&s, 2, 1, 12, &mo) == -1 || *s++ != '-' ||
	    digits(&s, 2, 1, 31, &d) == -1)
		return (-1);
	n = mdays[mo - 1] + (mo == 2 && y % 4 == 0 &&
	    (y % 100 != 0 || y % 400 == 0));
	if (d > n)
		return (-1);
	if (*s == 'T') {
		s++;
		if (digits(&s, 2, 0, 23, &h) == -1 || *s++ != ':' ||
		    digits(&s, 2, 0, 59, &mi) == -1)
			return (-1);
		if (*s == ':') {
			s++;
			if (digits(&s, 2, 0, 59, &sec) == -1)
				return (-1);
			if (*s == '.') {
				/* Milliseconds: the rest of it is dropped. */
				s++;
				for (n = 0; *s >= '0' && *s <= '9'; s++, n++)
					if (n < 3)
						frac = frac * 10 + (*s - '0');
				if (n == 0 || n > 9)
					return (-1);
				for (; n < 3; n++)
					frac *= 10;
			}
		}
		if (*s++ != 'Z')
			return (-1);
	}
	if (*s != '\0')
		return (-1);
	/* Days since 1970-01-01 of a proleptic Gregorian date. */
	if (mo <= 2)
		y--;
	days = (int64_t)365 * y + y / 4 - y / 100 + y / 400 +
	    (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1 - 719468;
	*ms = (((uint64_t)days * 24 + (uint64_t)h) * 60 + (uint64_t)mi) *
	    60000 + (uint64_t)sec * 1000 + (uint64_t)frac;
	return (0);
}

int
parse_since(const char *s, uint64_t now, uint64_t *ms)
{
	const char	*unit;
	uint64_t	 ago;

	if (number_unit(s, &ago, &unit) == 0 && strcmp(unit, "d") == 0) {
		if (ago > UINT64_MAX / 86400000)
			return (-1);
		ago *= 86400000;
	} else if (parse_duration(s, &ago) == -1)
		return (parse_time(s, ms));
	*ms = now > ago ? now - ago : 0;
	return (0);
}

void
format_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t	s = ms / 1000;

	if (ms < 10000)
		snprintf(buf, len, "%.2fs", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
		    (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
		    (unsigned long long)(s % 3600) / 60);
	else
		snprintf(buf, len, "%llud%02lluh",
		    (unsigned long long)s / 86400,
		    (unsigned long long)(s % 86400) / 3600);
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		fatal("calloc");
	return (p);
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return (p);
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("asprintf");
	return (n);
}

int
mkdir_p(const char *path, unsigned int mode)
{
	char	 buf[PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(buf, path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return (-1);
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

char **
xargv_copy(char *const *v)
{
	char	**c;

	if ((c = argv_copy(v)) == NULL)
		fatal("argv_copy");
	return (c);
}

char *
default_user_socket(void)
{
	const char	*rt = getenv("XDG_RUNTIME_DIR");
	char		*s;

	if (geteuid() == 0 || rt == NULL || rt[0] != '/')
		return (NULL);
	xasprintf(&s, "%s/qmsd/qmsd.sock", rt);
	return (s);
}

int
equal_secret(const void *a, const void *b, size_t len)
{
	const unsigned char	*x = a, *y = b;
	unsigned char		 diff = 0;
	size_t			 i;

	for (i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return (diff == 0);
}

int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}
