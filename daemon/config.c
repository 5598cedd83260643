#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "util.h"

/*
 * Every key is described once: its section, name, how its value is parsed
 * and where it lands.  Parsers validate at the line they see, so every error
 * carries that line; values that depend on other keys are settled after the
 * whole file is read, with the line that set them.
 */
enum key_type {
	KEY_PATH,		/* absolute path, kept as written */
	KEY_DIR,		/* existing directory, made canonical */
	KEY_USER,		/* user name or uid that exists */
	KEY_NAME,		/* non-empty word */
	KEY_LOGLEVEL,
};

struct key {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
};

#define OFF(f)	offsetof(struct config, f)
static const struct key keys[] = {
	{ "qmsd", "project-root", KEY_DIR, OFF(project_root) },
	{ "qmsd", "run-as", KEY_USER, OFF(run_as) },
	{ "qmsd", "socket", KEY_PATH, OFF(socket) },
	{ "qmsd", "admin-group", KEY_NAME, OFF(admin_group) },
	{ "qmsd", "state-dir", KEY_PATH, OFF(state_dir) },
	{ "qmsd", "log-level", KEY_LOGLEVEL, OFF(log_level) },
};
#undef OFF

/* Sections that exist, and whether they carry a name: [agent "claude"]. */
static const struct {
	const char	*name;
	int		 named;
} sections[] = {
	{ "qmsd", 0 },
};

struct parse {
	struct config	*conf;
	const char	*file;
	FILE		*fp;
	int		 line;		/* line inih is handling */
	int		 set[nitems(keys)];	/* line that set each key */
	char		 err[512];
	int		 err_line;
};

static void	check_header(struct parse *, const char *);
static void	parse_error(struct parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
parse_error(struct parse *p, const char *fmt, ...)
{
	va_list	ap;

	if (p->err_line != 0)
		return;		/* the first error is the one reported */
	p->err_line = p->line;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

/*
 * Counting lines here is how errors found in the handler get theirs.  A line
 * longer than inih's buffer would be split in two and misread, so it is
 * refused whole instead.
 */
static char *
reader(char *buf, int size, void *arg)
{
	struct parse	*p = arg;
	size_t		 len;
	int		 ch;

	if (fgets(buf, size, p->fp) == NULL)
		return (NULL);
	p->line++;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n' && !feof(p->fp)) {
		while ((ch = fgetc(p->fp)) != EOF && ch != '\n')
			;
		parse_error(p, "line longer than %d bytes", size - 2);
		buf[0] = '#';		/* let inih skip what is left */
		buf[1] = '\0';
	}
	/*
	 * inih reads an indented line as the continuation of the previous
	 * value, which turns a stray indent into a confusing "already set";
	 * here indentation means nothing.
	 */
	len = strspn(buf, " \t");
	if (len > 0)
		memmove(buf, buf + len, strlen(buf + len) + 1);
	check_header(p, buf);
	return (buf);
}

/*
 * Split a section header "agent \"claude\"" into "agent" and "claude".
 * Returns the index in sections[] or -1 with an error set.
 */
static int
section_lookup(struct parse *p, const char *header, char *label,
    size_t labellen)
{
	const char	*sp, *q;
	char		 name[64];
	size_t		 i, n;

	label[0] = '\0';
	if (header[0] == '\0') {
		parse_error(p, "a key before any [section]");
		return (-1);
	}
	sp = strchr(header, ' ');
	n = sp != NULL ? (size_t)(sp - header) : strlen(header);
	if (n == 0 || n >= sizeof(name)) {
		parse_error(p, "bad section name [%s]", header);
		return (-1);
	}
	memcpy(name, header, n);
	name[n] = '\0';
	for (i = 0; i < nitems(sections); i++)
		if (strcmp(sections[i].name, name) == 0)
			break;
	if (i == nitems(sections)) {
		parse_error(p, "unknown section [%s]", name);
		return (-1);
	}
	if (sp == NULL) {
		if (sections[i].named) {
			parse_error(p, "section [%s] needs a name: "
			    "[%s \"NAME\"]", name, name);
			return (-1);
		}
		return ((int)i);
	}
	if (!sections[i].named) {
		parse_error(p, "section [%s] takes no name", name);
		return (-1);
	}
	q = sp + 1;
	n = strlen(q);
	if (n < 3 || q[0] != '"' || q[n - 1] != '"' ||
	    memchr(q + 1, '"', n - 2) != NULL || n - 2 >= labellen) {
		parse_error(p, "bad section name [%s]: the name must be "
		    "quoted, as in [%s \"NAME\"]", header, name);
		return (-1);
	}
	memcpy(label, q + 1, n - 2);
	label[n - 2] = '\0';
	return ((int)i);
}

/*
 * inih calls the handler only for keys, so a section without any would go
 * unchecked; its header is checked here, as it is read.
 */
static void
check_header(struct parse *p, const char *line)
{
	const char	*s = line, *end;
	char		 header[256], label[128];
	size_t		 n;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '[' || (end = strchr(s, ']')) == NULL)
		return;
	n = (size_t)(end - s - 1);
	if (n >= sizeof(header))
		n = sizeof(header) - 1;
	memcpy(header, s + 1, n);
	header[n] = '\0';
	section_lookup(p, header, label, sizeof(label));
}

static int
lookup_user(const char *v, char **name, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;
	long long	 n;

	if (parse_number(v, 0, UINT32_MAX - 1, &n) == 0)
		pw = getpwuid((uid_t)n);
	else
		pw = getpwnam(v);
	if (pw == NULL)
		return (-1);
	*name = xstrdup(pw->pw_name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return (0);
}

static int
set_value(struct parse *p, const struct key *k, const char *v)
{
	char		**sp = (char **)((char *)p->conf + k->offset);
	char		  real[PATH_MAX];
	struct stat	  st;
	enum log_level	  lvl;

	switch (k->type) {
	case KEY_PATH:
		if (v[0] != '/') {
			parse_error(p, "%s must be an absolute path", k->name);
			return (-1);
		}
		free(*sp);
		*sp = xstrdup(v);
		return (0);
	case KEY_DIR:
		if (v[0] != '/') {
			parse_error(p, "%s must be an absolute path", k->name);
			return (-1);
		}
		if (stat(v, &st) == -1 || realpath(v, real) == NULL) {
			parse_error(p, "%s %s: %s", k->name, v,
			    strerror(errno));
			return (-1);
		}
		if (!S_ISDIR(st.st_mode)) {
			parse_error(p, "%s %s: not a directory", k->name, v);
			return (-1);
		}
		free(*sp);
		*sp = xstrdup(real);
		return (0);
	case KEY_USER:
		free(p->conf->run_as);
		p->conf->run_as = NULL;
		if (lookup_user(v, &p->conf->run_as, &p->conf->run_as_uid,
		    &p->conf->run_as_gid) == -1) {
			parse_error(p, "%s: no such user: %s", k->name, v);
			return (-1);
		}
		return (0);
	case KEY_NAME:
		if (v[0] == '\0' || strpbrk(v, " \t:/") != NULL) {
			parse_error(p, "%s: bad name \"%s\"", k->name, v);
			return (-1);
		}
		free(*sp);
		*sp = xstrdup(v);
		return (0);
	case KEY_LOGLEVEL:
		if (log_level_parse(v, &lvl) == -1) {
			parse_error(p, "%s must be error, warning, info or "
			    "debug, not \"%s\"", k->name, v);
			return (-1);
		}
		*(enum log_level *)((char *)p->conf + k->offset) = lvl;
		return (0);
	}
	return (-1);
}

static int
handler(void *arg, const char *section, const char *name, const char *value)
{
	struct parse	*p = arg;
	char		 label[128];
	int		 si;
	size_t		 i;

	if ((si = section_lookup(p, section, label, sizeof(label))) == -1)
		return (0);
	if (name == NULL)	/* a section header alone */
		return (1);
	for (i = 0; i < nitems(keys); i++) {
		if (strcmp(keys[i].section, sections[si].name) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			break;
	}
	if (i == nitems(keys)) {
		parse_error(p, "unknown key \"%s\" in [%s]", name, section);
		return (0);
	}
	if (p->set[i] != 0) {
		parse_error(p, "%s is already set at line %d", name,
		    p->set[i]);
		return (0);
	}
	p->set[i] = p->line;
	return (set_value(p, &keys[i], value) == 0);
}

char *
config_default_socket(void)
{
	const char	*rt;
	char		*s;

	if (geteuid() == 0 || (rt = getenv("XDG_RUNTIME_DIR")) == NULL ||
	    rt[0] != '/')
		return (xstrdup("/run/qmsd/qmsd.sock"));
	xasprintf(&s, "%s/qmsd/qmsd.sock", rt);
	return (s);
}

static char *
default_state_dir(void)
{
	const char	*e;
	char		*s;

	if (geteuid() == 0)
		return (xstrdup("/var/lib/qmsd"));
	if ((e = getenv("XDG_STATE_HOME")) != NULL && e[0] == '/')
		xasprintf(&s, "%s/qmsd", e);
	else if ((e = getenv("HOME")) != NULL && e[0] == '/')
		xasprintf(&s, "%s/.local/state/qmsd", e);
	else
		s = xstrdup("/var/lib/qmsd");
	return (s);
}

/* What no file said is taken from the environment and the project root. */
static int
fill_defaults(struct config *c, char *err, size_t errlen)
{
	char		 cwd[PATH_MAX];
	struct stat	 st;
	struct group	*gr;
	char		 uid[32];

	if (c->project_root == NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(err, errlen, "project-root: cannot read the "
			    "current directory: %s", strerror(errno));
			return (-1);
		}
		/*
		 * Under systemd the directory is /, whose owner is root:
		 * managing the whole file system as root is never meant.
		 */
		if (strcmp(cwd, "/") == 0) {
			snprintf(err, errlen, "project-root defaults to the "
			    "current directory, which is /; set project-root "
			    "in the configuration");
			return (-1);
		}
		c->project_root = xstrdup(cwd);
	}
	if (c->run_as == NULL) {
		if (stat(c->project_root, &st) == -1) {
			snprintf(err, errlen, "project-root %s: %s",
			    c->project_root, strerror(errno));
			return (-1);
		}
		snprintf(uid, sizeof(uid), "%u", (unsigned)st.st_uid);
		if (lookup_user(uid, &c->run_as, &c->run_as_uid,
		    &c->run_as_gid) == -1) {
			snprintf(err, errlen, "run-as: the owner of %s (uid "
			    "%s) has no user entry; set run-as",
			    c->project_root, uid);
			return (-1);
		}
	}
	if (c->socket == NULL)
		c->socket = config_default_socket();
	if (c->admin_group == NULL)
		c->admin_group = xstrdup("qms");
	if ((gr = getgrnam(c->admin_group)) != NULL) {
		c->admin_gid = gr->gr_gid;
		c->admin_gid_found = 1;
	}
	if (c->state_dir == NULL)
		c->state_dir = default_state_dir();
	return (0);
}

struct config *
config_load(const char *file, char *err, size_t errlen)
{
	struct parse	 p;
	struct config	*c;
	int		 rc;

	c = xcalloc(1, sizeof(*c));
	c->log_level = LOG_LEVEL_INFO;
	if (file != NULL) {
		memset(&p, 0, sizeof(p));
		p.conf = c;
		p.file = file;
		c->file = xstrdup(file);
		if ((p.fp = fopen(file, "r")) == NULL) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			config_free(c);
			return (NULL);
		}
		rc = ini_parse_stream(reader, &p, handler, &p);
		fclose(p.fp);
		if (rc != 0 || p.err_line != 0) {
			if (p.err_line != 0 && (rc == 0 || p.err_line <= rc))
				snprintf(err, errlen, "%s:%d: %s", file,
				    p.err_line, p.err);
			else
				snprintf(err, errlen, "%s:%d: syntax error: "
				    "expected [section] or key = value",
				    file, rc);
			config_free(c);
			return (NULL);
		}
	}
	if (fill_defaults(c, err, errlen) == -1) {
		config_free(c);
		return (NULL);
	}
	return (c);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->project_root);
	free(c->run_as);
	free(c->socket);
	free(c->admin_group);
	free(c->state_dir);
	free(c);
}
