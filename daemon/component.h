/*
 * What `status` reports: every part of qmsd that has a state registers a
 * component here and keeps its row current.  The owners keep their state
 * machines; this file only knows names, states and how they weigh on health.
 */
#ifndef QMSD_COMPONENT_H
#define QMSD_COMPONENT_H

#include <sys/types.h>

#include <time.h>

#include <cjson/cJSON.h>

enum health {
	HEALTH_NONE,		/* not counted: disabled, not needed */
	HEALTH_OK,
	HEALTH_WARNING,		/* starting, degraded */
	HEALTH_CRITICAL,	/* failed */
};

struct component;
struct logring;

/* What qmsctl start, stop and restart do to a component that has them. */
struct component_ops {
	int	(*start)(void *, char *err, size_t);
	int	(*stop)(void *, char *err, size_t);
	int	(*restart)(void *, char *err, size_t);
};

struct component *component_add(const char *name);
void	 component_remove(struct component *);
/* The state is one of the owner's named states, a static string. */
void	 component_set(struct component *, const char *state, enum health,
	    const char *detailfmt, ...) __attribute__((format(printf, 4, 5)));
void	 component_set_pid(struct component *, pid_t);
void	 component_set_restarts(struct component *, unsigned int);
/* Extra fields of its status row ("last_exit", ...); value taken over. */
void	 component_set_field(struct component *, const char *key, cJSON *);
void	 component_set_ops(struct component *, const struct component_ops *,
	    void *arg);
void	 component_set_log(struct component *, struct logring *);
struct component *component_find(const char *name);
/* action is "start", "stop" or "restart"; 0, or -1 with why. */
int	 component_action(struct component *, const char *action, char *err,
	    size_t);
struct logring *component_log(const struct component *);
const char *component_name(const struct component *);
const char *component_state(const struct component *);
/* Every registered name, for errors that list the valid ones. */
void	 component_names(char *, size_t);

/* Called on every change, so systemd's STATUS= stays current. */
void	 component_set_hook(void (*)(void));
/* A second such hook, for the console's live updates; NULL removes it. */
void	 component_set_watch(void (*)(void));

enum health component_health(void);
const char *health_name(enum health);
cJSON	*component_list_json(void);
/* "ok: control ready, qms-mcp starting" */
void	 component_summary(char *, size_t);

#endif
