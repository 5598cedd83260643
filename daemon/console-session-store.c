/* The web console's sessions on disk: see console-session-store.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "console-session-store.h"
#include "log.h"
#include "safe-path.h"
#include "util.h"

#define HEADER		"qmsd-console-sessions 1\n"
#define NUMBER_MAX	15		/* digits: to the year 33000 */

static char		*store_dir;	/* the state directory */
static char		*saved;		/* the text last written, or read */
static int		 failing;	/* the last write failed (said once) */
static struct event	*save_ev;

/* A decimal number of at most NUMBER_MAX digits, no leading zero. */
static const char *
number(const char *p, const char *end, uint64_t *v)
{
	size_t	n = 0;

	*v = 0;
	while (p + n < end && p[n] >= '0' && p[n] <= '9' && n <= NUMBER_MAX)
		*v = *v * 10 + (uint64_t)(p[n++] - '0');
	if (n == 0 || n > NUMBER_MAX || (n > 1 && p[0] == '0'))
		return (NULL);
	return (p + n);
}

int
console_sessions_parse(const char *text, size_t len,
    struct console_session out[CONSOLE_MAX_SESSIONS], size_t *n, char *err,
    size_t errlen)
{
	const char	*p = text, *end = text + len, *nl;
	struct console_session	*r;
	size_t		 line = 1, i, k;

	*n = 0;
	if (len < strlen(HEADER) || memcmp(p, HEADER, strlen(HEADER)) != 0) {
		snprintf(err, errlen, "line 1: not \"%.*s\"",
		    (int)strlen(HEADER) - 1, HEADER);
		return (-1);
	}
	for (p += strlen(HEADER); p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			snprintf(err, errlen, "line %zu: no newline at its end",
			    line);
			return (-1);
		}
		if (*n == CONSOLE_MAX_SESSIONS) {
			snprintf(err, errlen, "line %zu: more than %d sessions",
			    line, CONSOLE_MAX_SESSIONS);
			return (-1);
		}
		r = &out[*n];
		for (k = 0; k < CONSOLE_SECRET_LEN; k++)
			if (p + k >= nl || !((p[k] >= '0' && p[k] <= '9') ||
			    (p[k] >= 'a' && p[k] <= 'f')))
				break;
		if (k != CONSOLE_SECRET_LEN || p + k >= nl || p[k] != ' ') {
			snprintf(err, errlen, "line %zu: not a hash of %d "
			    "lowercase hex digits, then a space", line,
			    CONSOLE_SECRET_LEN);
			return (-1);
		}
		memcpy(r->hash, p, CONSOLE_SECRET_LEN);
		r->hash[CONSOLE_SECRET_LEN] = '\0';
		p += CONSOLE_SECRET_LEN + 1;
		if ((p = number(p, nl, &r->made)) == NULL || p >= nl ||
		    *p++ != ' ' || (p = number(p, nl, &r->used)) == NULL ||
		    p != nl) {
			snprintf(err, errlen, "line %zu: not \"HASH MADE "
			    "USED\" (decimal milliseconds)", line);
			return (-1);
		}
		if (r->used < r->made) {
			snprintf(err, errlen, "line %zu: used before it was "
			    "made", line);
			return (-1);
		}
		for (i = 0; i < *n; i++)
			if (strcmp(out[i].hash, r->hash) == 0) {
				snprintf(err, errlen, "line %zu: the session "
				    "of line %zu again", line, i + 2);
				return (-1);
			}
		(*n)++;
	}
	return (0);
}

char *
console_sessions_format(const struct console_session *s, size_t n)
{
	char	*text, *p;
	size_t	 i, size;

	size = strlen(HEADER) + n * (CONSOLE_SECRET_LEN + 2 * 21 + 1) + 1;
	text = xcalloc(1, size);
	memcpy(text, HEADER, strlen(HEADER));
	p = text + strlen(HEADER);
	for (i = 0; i < n; i++)
		p += snprintf(p, size - (size_t)(p - text), "%s %llu %llu\n",
		    s[i].hash, (unsigned long long)s[i].made,
		    (unsigned long long)s[i].used);
	return (text);
}

/*
 * The file's text, or NULL with why (*missing when there is none): qmsd's
 * own, and qmsd's alone.
 */
static char *
load_text(int dfd, size_t *len, int *missing, char *why, size_t whylen)
{
	struct stat	 st;
	char		*text;
	ssize_t		 r = 0;
	int		 fd;

	if ((fd = safe_open(dfd, CONSOLE_SESSIONS_FILE, O_RDONLY)) == -1) {
		*missing = errno == ENOENT;
		snprintf(why, whylen, "%s", safe_strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return (NULL);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(why, whylen, "owned by uid %u with mode %04o, where "
		    "qmsd's own (uid %u) with mode 0600 is wanted",
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
		    (unsigned)geteuid());
		close(fd);
		return (NULL);
	}
	text = xcalloc(1, CONSOLE_SESSIONS_FILE_MAX + 2);
	*len = 0;
	while (*len <= CONSOLE_SESSIONS_FILE_MAX) {
		r = read(fd, text + *len, CONSOLE_SESSIONS_FILE_MAX + 1 - *len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	if (r == -1)
		snprintf(why, whylen, "%s", strerror(errno));
	else if (*len > CONSOLE_SESSIONS_FILE_MAX)
		snprintf(why, whylen, "longer than %d bytes",
		    CONSOLE_SESSIONS_FILE_MAX);
	if (r == -1 || *len > CONSOLE_SESSIONS_FILE_MAX) {
		free(text);
		text = NULL;
	}
	close(fd);
	return (text);
}

static void
load(void)
{
	struct console_session	 s[CONSOLE_MAX_SESSIONS];
	char			*text = NULL, why[256];
	size_t			 len = 0, n = 0, gone;
	int			 dfd, missing = 0;

	if ((dfd = safe_dir(store_dir)) == -1)
		snprintf(why, sizeof(why), "%s", safe_strerror(errno));
	else {
		text = load_text(dfd, &len, &missing, why, sizeof(why));
		close(dfd);
	}
	if (missing) {
		saved = console_sessions_format(NULL, 0);
		return;
	}
	if (text != NULL && console_sessions_parse(text, len, s, &n, why,
	    sizeof(why)) == 0) {
		console_session_restore(s, n);
		gone = console_session_prune(wall_ms());
		log_info("console: %zu session%s kept from %s/%s%s", n - gone,
		    n - gone == 1 ? "" : "s", store_dir, CONSOLE_SESSIONS_FILE,
		    gone > 0 ? " (and some expired)" : "");
		saved = text;
		explicit_bzero(s, sizeof(s));
		return;
	}
	log_warnx("console: %s/%s: %s; ignored: its sessions are logged out, "
	    "and the next login replaces it", store_dir,
	    CONSOLE_SESSIONS_FILE, why);
	free(text);
	/* Not written over for nothing: a login or a logout does. */
	saved = console_sessions_format(NULL, 0);
}

void
console_store_save(void)
{
	struct console_session	 s[CONSOLE_MAX_SESSIONS];
	char			*text;
	size_t			 n;
	int			 dfd, rv = -1;

	if (store_dir == NULL)
		return;
	console_session_prune(wall_ms());
	n = console_session_list(s);
	text = console_sessions_format(s, n);
	explicit_bzero(s, sizeof(s));
	if (saved != NULL && strcmp(text, saved) == 0) {
		free(text);
		return;
	}
	if ((dfd = safe_dir(store_dir)) != -1) {
		rv = safe_replace(dfd, CONSOLE_SESSIONS_FILE, text,
		    strlen(text), 0600, geteuid(), getegid());
		close(dfd);
	}
	if (rv == -1) {
		if (!failing)
			log_warnx("console: cannot write %s/%s: %s; the "
			    "sessions hold until qmsd stops", store_dir,
			    CONSOLE_SESSIONS_FILE, safe_strerror(errno));
		failing = 1;
		free(text);
		return;
	}
	if (failing)
		log_info("console: %s/%s written again", store_dir,
		    CONSOLE_SESSIONS_FILE);
	failing = 0;
	free(saved);
	saved = text;
}

static void
on_save(evutil_socket_t fd, short ev, void *arg)
{
	console_store_save();
}

void
console_store_init(struct event_base *base, const char *state_dir)
{
	struct timeval	tv = { CONSOLE_SESSIONS_SAVE_MS / 1000, 0 };

	store_dir = xstrdup(state_dir);
	load();
	if ((save_ev = event_new(base, -1, EV_PERSIST, on_save, NULL)) == NULL)
		fatalx("console: event_new failed");
	event_add(save_ev, &tv);
}

void
console_store_shutdown(void)
{
	console_store_save();
	if (save_ev != NULL)
		event_free(save_ev);
	save_ev = NULL;
	free(store_dir);
	store_dir = NULL;
	free(saved);
	saved = NULL;
	failing = 0;
}
