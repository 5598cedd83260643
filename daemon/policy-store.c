#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "policy-store.h"
#include "safe-path.h"
#include "util.h"

struct policy_entry {
	char			*name;
	struct policy		 conf;	/* the configuration's */
	struct policy_override	 ov;	/* the run-time part */
};

static struct policy_entry	 entries[CONFIG_MAX_AGENTS];
static size_t			 nentries;
static char			*state_dir;
static policy_observer		 observer;
static void			*observer_arg;

static struct policy_entry *
entry_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nentries; i++)
		if (strcmp(entries[i].name, name) == 0)
			return (&entries[i]);
	return (NULL);
}

/* STATE/agents/NAME, opened (made first when make); -1 with errno. */
static int
agent_dir(const char *name, int make, char **path)
{
	int	fd;

	xasprintf(path, "%s/agents/%s", state_dir, name);
	if (make && mkdir_p(*path, 0700) == -1)
		return (-1);
	fd = open(*path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return (fd);
}

/* The run-time part from its file; none when absent or unreadable. */
static void
entry_load(struct policy_entry *e)
{
	char	*dir, *text, err[256];
	size_t	 len;
	int	 fd;

	memset(&e->ov, 0, sizeof(e->ov));
	if ((fd = agent_dir(e->name, 0, &dir)) == -1) {
		if (errno != ENOENT)
			log_warnx("agent %s: %s: %s; its run-time policy is "
			    "ignored", e->name, dir, safe_strerror(errno));
		free(dir);
		return;
	}
	if ((text = safe_read(fd, "policy", POLICY_FILE_MAX, &len)) == NULL) {
		if (errno != ENOENT)
			log_warnx("agent %s: %s/policy: %s; its run-time "
			    "policy is ignored, the configuration's is in "
			    "force", e->name, dir, errno == EFBIG ?
			    "too long" : safe_strerror(errno));
	} else if (policy_file_parse(text, len, &e->ov, err,
	    sizeof(err)) == -1) {
		log_warnx("agent %s: %s/policy: %s; its run-time policy is "
		    "ignored, the configuration's is in force (qmsctl policy "
		    "%s --reset removes the file)", e->name, dir, err, e->name);
		memset(&e->ov, 0, sizeof(e->ov));
	}
	free(text);
	close(fd);
	free(dir);
}

static void
entries_clear(void)
{
	size_t	i;

	for (i = 0; i < nentries; i++)
		free(entries[i].name);
	nentries = 0;
}

void
policy_store_configure(const struct config *c)
{
	size_t	i;

	entries_clear();
	free(state_dir);
	state_dir = xstrdup(c->state_dir);
	for (i = 0; i < c->nagents && i < nitems(entries); i++) {
		entries[i].name = xstrdup(c->agents[i].name);
		entries[i].conf = c->agents[i].policy;
		entry_load(&entries[i]);
		nentries++;
	}
}

void
policy_store_shutdown(void)
{
	entries_clear();
	free(state_dir);
	state_dir = NULL;
	observer = NULL;
	observer_arg = NULL;
}

int
policy_store_get(const char *agent, struct policy *effective,
    struct policy_override *ov)
{
	struct policy_entry	*e;

	if ((e = entry_find(agent)) == NULL)
		return (-1);
	if (effective != NULL)
		policy_effective(&e->conf, &e->ov, effective);
	if (ov != NULL)
		*ov = e->ov;
	return (0);
}

cJSON *
policy_store_json(const char *agent)
{
	struct policy_entry	*e;
	struct policy		 eff;
	char			 stop[64];
	cJSON			*o;

	if ((e = entry_find(agent)) == NULL)
		return (cJSON_CreateNull());
	policy_effective(&e->conf, &e->ov, &eff);
	policy_stop_format(&eff, stop, sizeof(stop));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "start", policy_start_name(eff.start));
	cJSON_AddStringToObject(o, "stop", stop);
	cJSON_AddStringToObject(o, "start_from",
	    (e->ov.set & POLICY_SET_START) ? "run-time" : "config");
	cJSON_AddStringToObject(o, "stop_from",
	    (e->ov.set & POLICY_SET_STOP) ? "run-time" : "config");
	return (o);
}

int
policy_store_set(const char *agent, const struct policy_override *o,
    char *err, size_t errlen)
{
	struct policy_entry	*e;
	struct policy_override	 next;
	struct policy		 eff;
	char			*dir, *text;
	int			 fd, rv = 0;

	if ((e = entry_find(agent)) == NULL) {
		snprintf(err, errlen, "no agent \"%s\"", agent);
		return (-1);
	}
	next = e->ov;
	if (o == NULL)
		memset(&next, 0, sizeof(next));
	else {
		if (o->set & POLICY_SET_START)
			next.p.start = o->p.start;
		if (o->set & POLICY_SET_STOP) {
			next.p.stop = o->p.stop;
			next.p.idle = o->p.idle;
		}
		next.set |= o->set;
	}
	if ((fd = agent_dir(agent, 1, &dir)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, safe_strerror(errno));
		free(dir);
		return (-1);
	}
	if (next.set == 0) {
		if (unlinkat(fd, "policy", 0) == -1 && errno != ENOENT)
			rv = -1;
	} else {
		text = policy_file_format(&next);
		rv = safe_replace(fd, "policy", text, strlen(text), 0600,
		    geteuid(), getegid());
		free(text);
	}
	if (rv == -1)
		snprintf(err, errlen, "%s/policy: %s", dir,
		    safe_strerror(errno));
	close(fd);
	free(dir);
	if (rv == -1)
		return (-1);
	e->ov = next;
	policy_effective(&e->conf, &e->ov, &eff);
	if (observer != NULL)
		observer(agent, &eff, observer_arg);
	return (0);
}

void
policy_store_observe(policy_observer fn, void *arg)
{
	observer = fn;
	observer_arg = arg;
}

int
policy_store_change(const char *agent, const char *start, const char *stop,
    int reset, char *err, size_t errlen)
{
	struct policy_override	 o;

	if (policy_store_get(agent, NULL, NULL) == -1) {
		snprintf(err, errlen, "no agent \"%s\"", agent);
		return (-1);
	}
	if (reset == (start != NULL || stop != NULL)) {
		snprintf(err, errlen, "a policy change needs start, stop or "
		    "both, or reset alone");
		return (-1);
	}
	memset(&o, 0, sizeof(o));
	if (start != NULL) {
		if (policy_start_parse(start, &o.p.start, err, errlen) == -1)
			return (-1);
		o.set |= POLICY_SET_START;
	}
	if (stop != NULL) {
		if (policy_stop_parse(stop, &o.p, err, errlen) == -1)
			return (-1);
		o.set |= POLICY_SET_STOP;
	}
	if (policy_store_set(agent, reset ? NULL : &o, err, errlen) == -1)
		return (-2);
	return (0);
}
