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

struct component *component_add(const char *name);
void	 component_remove(struct component *);
/* The state is one of the owner's named states, a static string. */
void	 component_set(struct component *, const char *state, enum health,
	    const char *detailfmt, ...) __attribute__((format(printf, 4, 5)));
void	 component_set_pid(struct component *, pid_t);
void	 component_set_restarts(struct component *, unsigned int);
/* Called on every change, so systemd's STATUS= stays current. */
void	 component_set_hook(void (*)(void));

enum health component_health(void);
const char *health_name(enum health);
cJSON	*component_list_json(void);
/* "ok: control ready, qms-mcp starting" */
void	 component_summary(char *, size_t);

#endif
