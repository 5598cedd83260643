/*
 * Sessions: a terminal (or plain pipes) on a command in an agent's
 * container, brokered so that members of the admin group need no docker
 * group.  qmsd brings up what is not running, creates the exec, performs
 * the upgraded start with dockerd itself, and hands the connection to
 * qmsctl with SCM_RIGHTS: the bytes then flow between qmsctl and dockerd,
 * and qmsd is out of the data path.
 */
#ifndef QMSD_SESSION_H
#define QMSD_SESSION_H

#include <cjson/cJSON.h>

struct ctl_req;

void	session_shutdown(void);
/* The control methods "session", "exec-resize", "exec-status". */
void	session_start(struct ctl_req *, const cJSON *params);
void	session_resize(struct ctl_req *, const cJSON *params);
void	session_status(struct ctl_req *, const cJSON *params);

#endif
