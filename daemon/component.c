#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "util.h"

struct component {
	char		 name[64];
	const char	*state;
	enum health	 health;
	time_t		 since;
	char		 detail[512];
	pid_t		 pid;
	int		 has_pid;
	unsigned int	 restarts;
	int		 has_restarts;
	cJSON		*fields;
	const struct component_ops *ops;
	void		*ops_arg;
	struct logring	*log;
	TAILQ_ENTRY(component) entry;
};

static TAILQ_HEAD(, component) components = TAILQ_HEAD_INITIALIZER(components);
static void (*change_hook)(void);
static void (*watch_hook)(void);

static const char *const health_names[] = {
	[HEALTH_NONE] = "none",
	[HEALTH_OK] = "ok",
	[HEALTH_WARNING] = "warning",
	[HEALTH_CRITICAL] = "critical",
};

struct component *
component_add(const char *name)
{
	struct component	*c;

	c = xcalloc(1, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->state = "stopped";
	c->health = HEALTH_NONE;
	c->since = time(NULL);
	TAILQ_INSERT_TAIL(&components, c, entry);
	return (c);
}

void
component_remove(struct component *c)
{
	if (c == NULL)
		return;
	TAILQ_REMOVE(&components, c, entry);
	cJSON_Delete(c->fields);
	free(c);
	if (change_hook != NULL)
		change_hook();
	if (watch_hook != NULL)
		watch_hook();
}

void
component_set(struct component *c, const char *state, enum health health,
    const char *fmt, ...)
{
	va_list	ap;

	if (c->state == NULL || strcmp(c->state, state) != 0)
		c->since = time(NULL);
	c->state = state;
	c->health = health;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	if (change_hook != NULL)
		change_hook();
	if (watch_hook != NULL)
		watch_hook();
}

void
component_set_pid(struct component *c, pid_t pid)
{
	c->pid = pid;
	c->has_pid = 1;
}

void
component_set_restarts(struct component *c, unsigned int n)
{
	c->restarts = n;
	c->has_restarts = 1;
}

void
component_set_field(struct component *c, const char *key, cJSON *v)
{
	if (c->fields == NULL)
		c->fields = cJSON_CreateObject();
	if (cJSON_GetObjectItemCaseSensitive(c->fields, key) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(c->fields, key, v);
	else
		cJSON_AddItemToObject(c->fields, key, v);
}

void
component_set_ops(struct component *c, const struct component_ops *ops,
    void *arg)
{
	c->ops = ops;
	c->ops_arg = arg;
}

void
component_set_log(struct component *c, struct logring *log)
{
	c->log = log;
}

struct component *
component_find(const char *name)
{
	struct component	*c;

	TAILQ_FOREACH(c, &components, entry)
		if (strcmp(c->name, name) == 0)
			return (c);
	return (NULL);
}

int
component_action(struct component *c, const char *action, char *err,
    size_t errlen)
{
	int	(*fn)(void *, char *, size_t) = NULL;

	if (c->ops != NULL) {
		if (strcmp(action, "start") == 0)
			fn = c->ops->start;
		else if (strcmp(action, "stop") == 0)
			fn = c->ops->stop;
		else if (strcmp(action, "restart") == 0)
			fn = c->ops->restart;
	}
	if (fn == NULL) {
		snprintf(err, errlen, "%s cannot be %s", c->name,
		    strcmp(action, "stop") == 0 ? "stopped" :
		    strcmp(action, "start") == 0 ? "started" : "restarted");
		return (-1);
	}
	return (fn(c->ops_arg, err, errlen));
}

struct logring *
component_log(const struct component *c)
{
	return (c->log);
}

const char *
component_name(const struct component *c)
{
	return (c->name);
}

const char *
component_state(const struct component *c)
{
	return (c->state);
}

void
component_names(char *buf, size_t len)
{
	struct component	*c;
	size_t			 off = 0;
	int			 n;

	buf[0] = '\0';
	TAILQ_FOREACH(c, &components, entry) {
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
		    c->name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

void
component_set_hook(void (*hook)(void))
{
	change_hook = hook;
}

void
component_set_watch(void (*hook)(void))
{
	watch_hook = hook;
}

enum health
component_health(void)
{
	struct component	*c;
	enum health		 h = HEALTH_OK;

	TAILQ_FOREACH(c, &components, entry) {
		if (c->health > h)
			h = c->health;
	}
	return (h);
}

const char *
health_name(enum health h)
{
	return (health_names[h]);
}

cJSON *
component_list_json(void)
{
	struct component	*c;
	cJSON			*list, *o;
	char			 since[32];

	list = cJSON_CreateArray();
	TAILQ_FOREACH(c, &components, entry) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "state", c->state);
		format_time(c->since, since, sizeof(since));
		cJSON_AddStringToObject(o, "since", since);
		cJSON_AddStringToObject(o, "detail", c->detail);
		cJSON_AddStringToObject(o, "health", health_names[c->health]);
		if (c->has_pid) {
			if (c->pid > 0)
				cJSON_AddNumberToObject(o, "pid", c->pid);
			else
				cJSON_AddNullToObject(o, "pid");
		}
		if (c->has_restarts)
			cJSON_AddNumberToObject(o, "restarts", c->restarts);
		if (c->fields != NULL) {
			cJSON	*f;

			cJSON_ArrayForEach(f, c->fields)
				cJSON_AddItemToObject(o, f->string,
				    cJSON_Duplicate(f, 1));
		}
		cJSON_AddItemToArray(list, o);
	}
	return (list);
}

void
component_summary(char *buf, size_t len)
{
	struct component	*c;
	size_t			 off;
	int			 n;

	n = snprintf(buf, len, "%s:", health_names[component_health()]);
	off = n > 0 ? (size_t)n : 0;
	TAILQ_FOREACH(c, &components, entry) {
		if (off >= len)
			break;
		n = snprintf(buf + off, len - off, "%s %s %s",
		    c == TAILQ_FIRST(&components) ? "" : ",", c->name,
		    c->state);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}
