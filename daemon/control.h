/*
 * The control socket: qmsctl's way in.  JSON-RPC lines (common/proto.h),
 * peers identified by SO_PEERCRED and SO_PEERGROUPS on every request, and
 * authorization against a table of methods, each marked read-only or admin.
 * The methods themselves live in methods.c; this file is the transport.
 */
#ifndef QMSD_CONTROL_H
#define QMSD_CONTROL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include <cjson/cJSON.h>

struct ctl_req;
struct logring;

struct ctl_method {
	const char	*name;
	int		 readonly;	/* for anyone who can connect */
	void		(*fn)(struct ctl_req *, const cJSON *params);
	/*
	 * Not recorded in the audit log: an admin method that only
	 * follows one that was (a terminal's size), or reads the log
	 * itself (which must work when the log cannot be written).  Every
	 * other admin method is recorded, who and what, and runs once it
	 * is on disk.
	 */
	int		 unrecorded;
};

/* Who may call the methods that are not read-only, besides root. */
struct ctl_auth {
	uid_t		 run_as_uid;
	const char	*run_as;	/* for errors; copied */
	gid_t		 admin_gid;
	int		 admin_gid_found;	/* the group exists */
	const char	*admin_group;	/* copied */
};

/*
 * Listen on path, or on fd when socket activation passed one (fd >= 0),
 * and answer the methods of the table (kept, not copied).
 */
int	 control_init(struct event_base *, const char *path, int fd,
	    const struct ctl_method *, size_t nmethods,
	    const struct ctl_auth *, char *err, size_t errlen);
/* A reload: who is admin from now on. */
void	 control_set_auth(const struct ctl_auth *);
void	 control_shutdown(void);
/* The socket's path: the one bound, or the one systemd passed. */
const char *control_path(void);

/*
 * To answer after the method returns: the copy returned stays valid until
 * answered (if the client has gone, the answer is dropped).
 */
struct ctl_req *ctl_defer(struct ctl_req *);
const char *ctl_req_method(const struct ctl_req *);
/* Which connection a request came on (0 once it went away). */
uint64_t ctl_req_connection(const struct ctl_req *);
int	 ctl_req_gone(const struct ctl_req *);
/* A notification on the request's connection (progress, ...). */
void	 ctl_notify(struct ctl_req *, const char *method, cJSON *params);
/* Answer with a descriptor passed along (SCM_RIGHTS); fd is closed. */
void	 ctl_reply_fd(struct ctl_req *, cJSON *result, int fd);
/*
 * fn(arg) as soon as the client of a deferred request goes, before it is
 * answered; the request must then still be answered (the answer goes
 * nowhere) and must not be used after that.
 */
void	 ctl_on_gone(struct ctl_req *, void (*fn)(void *), void *arg);
/* Root, the run-as user or the admin group (for admin-only options). */
int	 ctl_req_is_admin(const struct ctl_req *);
/*
 * Send the log's new lines as "log" notifications on the request's
 * connection (tagged with name) until the client goes.
 */
void	 ctl_follow_log(struct ctl_req *, struct logring *, const char *name);
/*
 * A subscription that lasts as long as the request's connection:
 * cancel(arg) is called once when the client goes (or qmsd shuts down).
 * NULL, and cancel never called, if the client has gone already.
 */
struct ctl_sub;
struct ctl_sub *ctl_subscribe(struct ctl_req *, void (*cancel)(void *),
	    void *arg);
/*
 * A notification to a subscriber (params taken over).  One that does not
 * keep up loses notifications rather than making qmsd hold them: the next
 * one that fits carries "dropped", how many were lost.
 */
void	 ctl_sub_notify(struct ctl_sub *, const char *method, cJSON *params);

/* Each method answers exactly once; result is taken over. */
void	 ctl_reply(struct ctl_req *, cJSON *result);
void	 ctl_error(struct ctl_req *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
