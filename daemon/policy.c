#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

static const char *const start_names[] = {
	[POLICY_START_MANUAL] = "manual",
	[POLICY_START_ON_TASK] = "on-task",
	[POLICY_START_ALWAYS] = "always",
};

static int
blank(char c)
{
	return (c == ' ' || c == '\t');
}

/* The value in a message: itself when short and printable, else not. */
static const char *
shown(const char *v, char *buf, size_t len)
{
	const char	*s;

	for (s = v; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return ("(unprintable)");
	if (strlen(v) > 64)
		return ("(too long)");
	snprintf(buf, len, "\"%s\"", v);
	return (buf);
}

/* v without the blanks around it, into buf; -1 if too long. */
static int
trim(const char *v, char *buf, size_t len)
{
	size_t	n;

	while (blank(*v))
		v++;
	n = strlen(v);
	while (n > 0 && blank(v[n - 1]))
		n--;
	if (n >= len)
		return (-1);
	memcpy(buf, v, n);
	buf[n] = '\0';
	return (0);
}

int
policy_start_parse(const char *v, enum policy_start *out, char *err,
    size_t errlen)
{
	char	w[32], b[80];
	size_t	i;

	if (trim(v, w, sizeof(w)) == 0) {
		for (i = 0; i < nitems(start_names); i++) {
			if (strcmp(w, start_names[i]) == 0) {
				*out = (enum policy_start)i;
				return (0);
			}
		}
	}
	snprintf(err, errlen, "start must be manual, on-task or always, not "
	    "%s", shown(v, b, sizeof(b)));
	return (-1);
}

int
policy_stop_parse(const char *v, struct policy *p, char *err, size_t errlen)
{
	char		 w[64], b[80], *d;
	uint64_t	 ms;

	if (trim(v, w, sizeof(w)) == -1)
		goto bad;
	if (strcmp(w, "manual") == 0 || strcmp(w, "inbox-empty") == 0) {
		p->stop = w[0] == 'm' ? POLICY_STOP_MANUAL :
		    POLICY_STOP_INBOX_EMPTY;
		p->idle = 0;
		return (0);
	}
	if (strncmp(w, "idle", 4) != 0 || !blank(w[4]))
		goto bad;
	for (d = w + 4; blank(*d); d++)
		;
	if (parse_duration(d, &ms) == -1 || ms % 1000 != 0 ||
	    ms < POLICY_IDLE_MIN || ms > POLICY_IDLE_MAX) {
		snprintf(err, errlen, "stop: idle needs a duration from 1s to "
		    "720h in whole seconds, minutes or hours (30s, 10m, 2h), "
		    "not %s", shown(d, b, sizeof(b)));
		return (-1);
	}
	p->stop = POLICY_STOP_IDLE;
	p->idle = ms;
	return (0);
bad:
	snprintf(err, errlen, "stop must be manual, inbox-empty or idle "
	    "DURATION, not %s", shown(v, b, sizeof(b)));
	return (-1);
}

const char *
policy_start_name(enum policy_start s)
{
	if ((size_t)s >= nitems(start_names))
		return ("?");
	return (start_names[s]);
}

void
policy_stop_format(const struct policy *p, char *buf, size_t len)
{
	uint64_t	ms = p->idle;

	switch (p->stop) {
	case POLICY_STOP_MANUAL:
		snprintf(buf, len, "manual");
		break;
	case POLICY_STOP_INBOX_EMPTY:
		snprintf(buf, len, "inbox-empty");
		break;
	case POLICY_STOP_IDLE:
		/* The largest unit that says it exactly. */
		if (ms % 3600000 == 0)
			snprintf(buf, len, "idle %lluh",
			    (unsigned long long)(ms / 3600000));
		else if (ms % 60000 == 0)
			snprintf(buf, len, "idle %llum",
			    (unsigned long long)(ms / 60000));
		else
			snprintf(buf, len, "idle %llus",
			    (unsigned long long)(ms / 1000));
		break;
	default:
		snprintf(buf, len, "?");
		break;
	}
}

int
policy_word_parse(const char *w, struct policy_override *o, char *err,
    size_t errlen)
{
	const char	*eq = strchr(w, '=');
	char		 b[80];
	size_t		 n;
	unsigned int	 bit;

	n = eq != NULL ? (size_t)(eq - w) : 0;
	if (eq != NULL && n == 5 && strncmp(w, "start", 5) == 0)
		bit = POLICY_SET_START;
	else if (eq != NULL && n == 4 && strncmp(w, "stop", 4) == 0)
		bit = POLICY_SET_STOP;
	else {
		snprintf(err, errlen, "%s is not start=VALUE or stop=VALUE",
		    shown(w, b, sizeof(b)));
		return (-1);
	}
	if (o->set & bit) {
		snprintf(err, errlen, "%s is given twice",
		    bit == POLICY_SET_START ? "start" : "stop");
		return (-1);
	}
	if (bit == POLICY_SET_START) {
		if (policy_start_parse(eq + 1, &o->p.start, err, errlen) == -1)
			return (-1);
	} else if (policy_stop_parse(eq + 1, &o->p, err, errlen) == -1)
		return (-1);
	o->set |= bit;
	return (0);
}

int
policy_file_parse(const char *text, size_t len, struct policy_override *o,
    char *err, size_t errlen)
{
	char		 line[POLICY_FILE_MAX + 1];
	const char	*p = text, *end = text + len, *nl;
	size_t		 n, lineno = 0;

	memset(o, 0, sizeof(*o));
	if (len > POLICY_FILE_MAX) {
		snprintf(err, errlen, "longer than %d bytes", POLICY_FILE_MAX);
		return (-1);
	}
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			snprintf(err, errlen, "line %zu: no newline at its end",
			    lineno);
			return (-1);
		}
		n = (size_t)(nl - p);
		if (memchr(p, '\0', n) != NULL) {
			snprintf(err, errlen, "line %zu: a NUL byte", lineno);
			return (-1);
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (policy_word_parse(line, o, err, errlen) == -1) {
			/* Say where, keeping what the parser said. */
			char	why[256];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			return (-1);
		}
		p = nl + 1;
	}
	return (0);
}

char *
policy_file_format(const struct policy_override *o)
{
	char	*text, stop[64];

	policy_stop_format(&o->p, stop, sizeof(stop));
	xasprintf(&text, "%s%s%s%s%s",
	    (o->set & POLICY_SET_START) ? "start=" : "",
	    (o->set & POLICY_SET_START) ? policy_start_name(o->p.start) : "",
	    (o->set & POLICY_SET_START) ? "\n" : "",
	    (o->set & POLICY_SET_STOP) ? "stop=" : "",
	    (o->set & POLICY_SET_STOP) ? stop : "");
	if (o->set & POLICY_SET_STOP) {
		char	*t;

		xasprintf(&t, "%s\n", text);
		free(text);
		text = t;
	}
	return (text);
}

void
policy_effective(const struct policy *conf, const struct policy_override *o,
    struct policy *out)
{
	*out = *conf;
	if (o == NULL)
		return;
	if (o->set & POLICY_SET_START)
		out->start = o->p.start;
	if (o->set & POLICY_SET_STOP) {
		out->stop = o->p.stop;
		out->idle = o->p.idle;
	}
}

/* Whether the start policy would have it running now. */
static int
wants_start(const struct policy *p, const struct policy_input *in)
{
	if (in->down == POLICY_DOWN_PERSON)
		return (0);
	switch (p->start) {
	case POLICY_START_MANUAL:
		return (0);
	case POLICY_START_ON_TASK:
		return (in->inbox > 0);
	case POLICY_START_ALWAYS:
		return (in->inbox > 0 || in->down == POLICY_DOWN_NONE ||
		    in->down == POLICY_DOWN_SELF);
	}
	return (0);
}

enum policy_action
policy_decide(const struct policy *p, const struct policy_input *in,
    uint64_t *next_check)
{
	uint64_t	due;

	*next_check = 0;
	if (in->busy)
		return (POLICY_NONE);
	if (!in->session || !in->running) {
		if (wants_start(p, in)) {
			if (in->now < in->hold_until) {
				*next_check = in->hold_until;
				return (POLICY_NONE);
			}
			return (POLICY_START);
		}
	}
	if (!in->running || in->inbox > 0 || in->attached)
		return (POLICY_NONE);
	if (in->session && in->act != ACT_IDLE && in->act != ACT_NO_SESSION)
		return (POLICY_NONE);
	switch (p->stop) {
	case POLICY_STOP_MANUAL:
		return (POLICY_NONE);
	case POLICY_STOP_INBOX_EMPTY:
		return (in->inbox_seen ? POLICY_STOP : POLICY_NONE);
	case POLICY_STOP_IDLE:
		due = in->act_since + p->idle;
		if (due < in->act_since)	/* never, in this universe */
			return (POLICY_NONE);
		if (in->now >= due)
			return (POLICY_STOP);
		*next_check = due;
		return (POLICY_NONE);
	}
	return (POLICY_NONE);
}

const char *
policy_action_name(enum policy_action a)
{
	switch (a) {
	case POLICY_NONE:
		return ("none");
	case POLICY_START:
		return ("start");
	case POLICY_STOP:
		return ("stop");
	}
	return ("?");
}
