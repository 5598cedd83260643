/*
 * audit: the audit log (qmsd(8), AUDIT LOG).  qmsd answers with its head
 * and passes the log's descriptor along; qmsctl reads the file itself and
 * prints a line a record, of one agent or since a time, and with -f every
 * record after them as it comes, until interrupted.  --verify checks the
 * whole chain instead (audit-verify.h), against qmsd's head and the ones
 * given, and exits 1 when it does not hold.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit-verify.h"
#include "qmsctl.h"
#include "util.h"

static int	cmd_audit_exec(int, char **);

const struct cmd_entry cmd_audit_entry = {
	.name = "audit",
	.usage = "[--agent name] [--since time] [-f] [--json] "
	    "[--verify [--head seq:hash]]",
	.summary = "show the audit log; -f follows, --verify checks its chain",
	.exec = cmd_audit_exec,
};

/* What is shown, and the last record shown from the file. */
struct show {
	const char	*agent;		/* only its records, when not NULL */
	uint64_t	 since;		/* only records at or after it, ms */
	int		 json;		/* the lines as they are */
	uint64_t	 last;		/* the highest seq read from the file */
};

/*
 * Each kind's fields as the summary puts them: before, the value, after;
 * the first one shown without what comes before it up to its first word.
 * Any other field follows as key=value.
 */
struct field {
	const char	*key;
	const char	*before;
	const char	*after;
};

static const struct field git_fields[] = {
	{ "verdict", "", "" }, { "rule", " by ", "" },
	{ "command", ": ", "" }, { "outcome", " -> ", "" },
	{ "ms", ", ", " ms" }, { "bytes", ", ", " bytes" },
	{ "caller", " (caller ", ")" }, { NULL, NULL, NULL },
};
static const struct field tool_fields[] = {
	{ "tool", "", "" }, { "server", " on ", "" },
	{ "outcome", " -> ", "" }, { "caller", " (caller ", ")" },
	{ NULL, NULL, NULL },
};
static const struct field egress_fields[] = {
	{ "event", "", "" }, { "method", " ", "" }, { "target", " ", "" },
	{ "path", " ", "" }, { "address", " at ", "" },
	{ "status", " -> ", "" }, { "rule", " by ", "" },
	{ "bytes_up", ", ", " bytes up" }, { "bytes_down", ", ", " down" },
	{ "duration_ms", ", ", " ms" }, { "reason", ": ", "" },
	{ NULL, NULL, NULL },
};
static const struct field admin_fields[] = {
	{ "method", "", "" }, { "component", " of ", "" },
	{ "uid", " by uid ", "" }, { "pid", " (pid ", ")" },
	{ "via", " via ", "" }, { "session", " session ", "" },
	{ "outcome", " -> ", "" }, { NULL, NULL, NULL },
};
static const struct field qmsd_fields[] = {
	{ "event", "", "" }, { "version", " ", "" }, { "reason", ": ", "" },
	{ NULL, NULL, NULL },
};

static const struct {
	const char		*kind;
	const struct field	*fields;
} kinds[] = {
	{ "git", git_fields }, { "tool", tool_fields },
	{ "egress", egress_fields }, { "admin", admin_fields },
	{ "qmsd", qmsd_fields },
};

/* Members every record has, shown in their own columns. */
static const char *const lead[] = { "seq", "time", "prev", "kind", "agent" };

/*
 * s as a terminal may show it: control characters, C0 and C1 (as UTF-8
 * encodes them), escaped, so that a record cannot move the cursor or
 * change the colours of what follows.
 */
static void
put_safe(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			printf("\\u%04x", p[1]);
			p++;
		} else
			putchar(*p);
	}
}

/* A member's value, strings without their quotes. */
static void
put_value(const cJSON *v)
{
	char	*s;

	if (cJSON_IsString(v))
		put_safe(v->valuestring);
	else if (cJSON_IsNumber(v) && v->valuedouble > -1e15 &&
	    v->valuedouble < 1e15 &&
	    v->valuedouble == (double)(long long)v->valuedouble)
		printf("%lld", (long long)v->valuedouble);
	else if ((s = cJSON_PrintUnformatted(v)) != NULL) {
		put_safe(s);
		cJSON_free(s);
	}
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

static int
known(const char *key, const struct field *fields)
{
	size_t	i;

	for (i = 0; i < nitems(lead); i++)
		if (strcmp(key, lead[i]) == 0)
			return (1);
	for (; fields != NULL && fields->key != NULL; fields++)
		if (strcmp(key, fields->key) == 0)
			return (1);
	return (0);
}

/*
 * 2026-12-05T14:10:29.123Z #17 git claude: allowed: status -> exit 0,
 * 3 ms, 120 bytes (caller claude)
 */
static void
print_human(const cJSON *r, uint64_t seq)
{
	const struct field	*fields = NULL, *f;
	const cJSON		*v;
	const char		*kind = str(r, "kind"), *b;
	size_t			 i;
	int			 shown = 0;

	for (i = 0; kind != NULL && i < nitems(kinds); i++)
		if (strcmp(kind, kinds[i].kind) == 0)
			fields = kinds[i].fields;
	put_safe(str(r, "time") != NULL ? str(r, "time") : "-");
	printf(" #%llu ", (unsigned long long)seq);
	put_safe(kind != NULL ? kind : "-");
	putchar(' ');
	put_safe(str(r, "agent") != NULL ? str(r, "agent") : "-");
	for (f = fields; f != NULL && f->key != NULL; f++) {
		v = cJSON_GetObjectItemCaseSensitive(r, f->key);
		if (v == NULL || cJSON_IsNull(v) || (cJSON_IsString(v) &&
		    v->valuestring[0] == '\0'))
			continue;
		/* The first after a colon: " by x" as ": by x". */
		b = f->before;
		if (!shown) {
			b += strspn(b, " ,:");
			printf(": ");
		}
		printf("%s", b);
		put_value(v);
		printf("%s", f->after);
		shown = 1;
	}
	cJSON_ArrayForEach(v, r) {
		if (v->string == NULL || known(v->string, fields))
			continue;
		printf("%s", shown ? " " : ": ");
		put_safe(v->string);
		putchar('=');
		put_value(v);
		shown = 1;
	}
	putchar('\n');
}

/*
 * A record of the file (lineno) or from qmsd (0), if it is to be shown:
 * not shown before, of the agent, not before the time asked for.
 */
static void
show_line(struct show *sh, const char *line, size_t len, uint64_t lineno)
{
	cJSON		*r;
	const char	*agent, *when;
	uint64_t	 seq, t;
	size_t		 i;

	/* qmsd's JSON escapes control characters: these are not its. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			break;
	r = i == len && audit_line_seq(line, len, &seq) == 0 ?
	    cJSON_ParseWithLength(line, len) : NULL;
	if (!cJSON_IsObject(r)) {
		if (lineno > 0)
			fprintf(stderr, "qmsctl: audit: line %llu is not a "
			    "record; qmsctl audit --verify says more\n",
			    (unsigned long long)lineno);
		else
			fprintf(stderr, "qmsctl: audit: qmsd sent a line that "
			    "is not a record\n");
		cJSON_Delete(r);
		return;
	}
	if (lineno > 0) {
		if (seq > sh->last)
			sh->last = seq;
	} else if (seq <= sh->last)
		goto out;	/* read from the file already */
	else
		sh->last = seq;
	agent = str(r, "agent");
	if (sh->agent != NULL && (agent == NULL ||
	    strcmp(agent, sh->agent) != 0))
		goto out;
	/* A time that does not read as one is shown: not ours to hide. */
	when = str(r, "time");
	if (sh->since > 0 && when != NULL && parse_time(when, &t) == 0 &&
	    t < sh->since)
		goto out;
	if (sh->json) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
	} else
		print_human(r, seq);
out:
	cJSON_Delete(r);
}

/* A notification of -f: a record made durable, or how many were lost. */
static void
on_note(const cJSON *params, void *arg)
{
	struct show	*sh = arg;
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(params, "dropped");
	const char	*line = str(params, "line");

	if (cJSON_IsNumber(d) && d->valuedouble > 0) {
		if (sh->json)
			printf("{\"dropped\":%.0f}\n", d->valuedouble);
		else
			printf("[qmsd: %.0f records dropped: the reader was "
			    "too slow]\n", d->valuedouble);
	}
	if (line != NULL)
		show_line(sh, line, strlen(line), 0);
}

/*
 * Each line of the file at fd, without its newline, to fn; one longer
 * than a record may be is cut at AUDIT_LINE_MAX + 1 bytes, which says
 * so.  A last line without a newline is being written, or was torn:
 * not handed on, *torn says so.  0, or -1 with errno.
 */
static int
read_lines(int fd, void (*fn)(const char *, size_t, uint64_t, void *),
    void *arg, int *torn)
{
	static char	 buf[65536];
	char		 line[AUDIT_LINE_MAX + 1], *p, *nl;
	size_t		 len = 0, n, take;
	uint64_t	 lineno = 0;
	off_t		 off = 0;
	ssize_t		 got;

	for (;;) {
		if ((got = pread(fd, buf, sizeof(buf), off)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (got == 0)
			break;
		off += got;
		for (p = buf; p < buf + got; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(buf + got - p));
			n = (size_t)((nl != NULL ? nl : buf + got) - p);
			take = n < sizeof(line) - len ? n : sizeof(line) - len;
			memcpy(line + len, p, take);
			len += take;
			if (nl == NULL)
				break;
			fn(line, len, ++lineno, arg);
			len = 0;
		}
	}
	*torn = len > 0;
	return (0);
}

static void
show_file_line(const char *line, size_t len, uint64_t lineno, void *arg)
{
	show_line(arg, line, len, lineno);
}

static void
verify_line(const char *line, size_t len, uint64_t lineno, void *arg)
{
	audit_verify_line(arg, line, len);
}

/* "SEQ:HASH", as --head takes it: -1 if it is not one. */
static int
parse_head(const char *s, uint64_t *seq, char hash[AUDIT_HASH_HEX])
{
	const char	*colon = strchr(s, ':');
	char		 num[24];
	long long	 n;
	size_t		 i;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(num))
		return (-1);
	memcpy(num, s, (size_t)(colon - s));
	num[colon - s] = '\0';
	if (!(num[0] >= '0' && num[0] <= '9') ||
	    parse_number(num, 0, LLONG_MAX, &n) == -1)
		return (-1);
	if (strlen(colon + 1) != AUDIT_HASH_HEX - 1)
		return (-1);
	for (i = 0; i < AUDIT_HASH_HEX - 1; i++)
		if (hex_value((unsigned char)colon[1 + i]) == -1)
			return (-1);
	memcpy(hash, colon + 1, AUDIT_HASH_HEX);
	/* Record 0 is the empty log's head: the genesis. */
	if (n == 0 && strcmp(hash, AUDIT_GENESIS) != 0)
		return (-1);
	*seq = (uint64_t)n;
	return (0);
}

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "qmsctl: audit: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cmd_usage(&cmd_audit_entry);
	return (EXIT_USAGE);
}

static int
cmd_audit_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "head", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "verify", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct show		 sh;
	struct audit_verify	 v;
	struct stat		 st;
	const cJSON		*hseq, *hhash, *path;
	cJSON			*params, *res;
	char			 why[512], heads[AUDIT_VERIFY_HEADS - 1]
				     [AUDIT_HASH_HEX];
	const char		*since = NULL, *file;
	uint64_t		 headseq[AUDIT_VERIFY_HEADS - 1];
	size_t			 nheads = 0, i;
	int			 ch, follow = 0, verify = 0, fd = -1, logfd;
	int			 rc, torn = 0;

	memset(&sh, 0, sizeof(sh));
	while ((ch = getopt_long(argc, argv, "f", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			sh.agent = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		case 'H':
			if (nheads == nitems(headseq))
				return (usage_error("at most %zu --head",
				    nitems(headseq)));
			if (parse_head(optarg, &headseq[nheads],
			    heads[nheads]) == -1)
				return (usage_error("--head: not SEQ:HASH, a "
				    "record's number, \":\" and its 64 hex "
				    "digits (0:%s for the empty log): %s",
				    AUDIT_GENESIS, optarg));
			nheads++;
			break;
		case 'j':
			sh.json = 1;
			break;
		case 's':
			since = optarg;
			if (parse_since(optarg, wall_ms(), &sh.since) == -1)
				return (usage_error("--since: not a time: %s "
				    "(give one as 2026-12-05T14:10:29Z or "
				    "2026-12-05 in UTC, or one ago as 30s, "
				    "10m, 2h or 3d)", optarg));
			break;
		case 'v':
			verify = 1;
			break;
		default:
			cmd_usage(&cmd_audit_entry);
			return (EXIT_USAGE);
		}
	}
	if (argc - optind > 0)
		return (usage_error("unexpected argument: %s", argv[optind]));
	if (verify && follow)
		return (usage_error("-f with --verify: it checks the log once, "
		    "as it is"));
	if (verify && (sh.agent != NULL || since != NULL || sh.json))
		return (usage_error("%s with --verify: it checks every record "
		    "and prints a verdict", sh.agent != NULL ? "--agent" :
		    since != NULL ? "--since" : "--json"));
	if (nheads > 0 && !verify)
		return (usage_error("--head without --verify: a head is what "
		    "--verify checks against"));

	params = cJSON_CreateObject();
	cJSON_AddBoolToObject(params, "follow", follow);
	if ((rc = ctl_call_keep("audit", params, &res, why, sizeof(why),
	    follow ? &fd : NULL)) != EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		if ((logfd = ctl_take_fd()) != -1)
			close(logfd);
		return (rc);
	}
	path = cJSON_GetObjectItemCaseSensitive(res, "path");
	file = cJSON_IsString(path) ? path->valuestring : "the audit log";
	if ((logfd = ctl_take_fd()) == -1) {
		fprintf(stderr, "qmsctl: audit: qmsd passed no descriptor of "
		    "%s\n", file);
		rc = EXIT_FAILED;
		goto out;
	}
	if (fstat(logfd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "qmsctl: audit: what qmsd passed for %s is "
		    "not a file\n", file);
		rc = EXIT_FAILED;
		goto out;
	}

	if (verify) {
		hseq = cJSON_GetObjectItemCaseSensitive(res, "seq");
		hhash = cJSON_GetObjectItemCaseSensitive(res, "hash");
		audit_verify_init(&v);
		if (!cJSON_IsNumber(hseq) || hseq->valuedouble < 0 ||
		    hseq->valuedouble > 9007199254740992.0 ||
		    hseq->valuedouble != (double)(uint64_t)hseq->valuedouble ||
		    !cJSON_IsString(hhash) || audit_verify_expect(&v,
		    (uint64_t)hseq->valuedouble, hhash->valuestring,
		    "qmsd's head") == -1) {
			fprintf(stderr, "qmsctl: audit: qmsd's answer holds "
			    "no head of the log\n");
			rc = EXIT_FAILED;
			goto out;
		}
		for (i = 0; i < nheads; i++) {
			if (audit_verify_expect(&v, headseq[i], heads[i],
			    "the head given") == -1) {
				fprintf(stderr, "qmsctl: audit: --head "
				    "%llu: not a head\n",
				    (unsigned long long)headseq[i]);
				rc = EXIT_USAGE;
				goto out;
			}
		}
		if (read_lines(logfd, verify_line, &v, &torn) == -1) {
			fprintf(stderr, "qmsctl: audit: %s: %s\n", file,
			    strerror(errno));
			rc = EXIT_FAILED;
			goto out;
		}
		if (torn)
			fprintf(stderr, "qmsctl: audit: %s: its last line "
			    "has no newline (it is being written, or was "
			    "torn): not verified\n", file);
		rc = audit_verify_end(&v) == 0 ? EXIT_OK : EXIT_FAILED;
		printf("%s\n", audit_verify_message(&v));
		goto out;
	}

	if (read_lines(logfd, show_file_line, &sh, &torn) == -1) {
		fprintf(stderr, "qmsctl: audit: %s: %s\n", file,
		    strerror(errno));
		rc = EXIT_FAILED;
		goto out;
	}
	fflush(stdout);
	close(logfd);
	logfd = -1;
	cJSON_Delete(res);
	res = NULL;
	if (!follow)
		return (EXIT_OK);
	/* A last line being written comes again, whole, from qmsd. */
	rc = ctl_follow(fd, on_note, &sh);
	fd = -1;
out:
	if (logfd != -1)
		close(logfd);
	if (fd != -1)
		close(fd);
	cJSON_Delete(res);
	return (rc);
}
