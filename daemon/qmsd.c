#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "component.h"
#include "config.h"
#include "console.h"
#include "console-auth.h"
#include "console-session-store.h"
#include "agent.h"
#include "agent-socket.h"
#include "bridge.h"
#include "control.h"
#include "curl-loop.h"
#include "docker.h"
#include "audit-log.h"
#include "egress-audit.h"
#include "egress-ca.h"
#include "egress-proxy.h"
#include "gateway.h"
#include "git-tool.h"
#include "hooks.h"
#include "http.h"
#include "log.h"
#include "manager.h"
#include "methods.h"
#include "notify.h"
#include "policy-store.h"
#include "process.h"
#include "proto.h"
#include "probe.h"
#include "qmsd.h"
#include "secret-store.h"
#include "session.h"
#include "supervisor.h"
#include "tmux-link.h"
#include "token.h"
#include "util.h"

struct qmsd qmsd;

static struct component	*control_component;
static struct event	*watchdog_ev;
static struct supervisor *qms_mcp;
static struct event	*shutdown_ev;
static int		 shutting_down;

static int		 state_lock = -1;

/* Past this, shutdown stops waiting for children (they get SIGKILL). */
#define SHUTDOWN_GRACE_MS	5000

/* -h asked for it: stdout and 0; a bad option: stderr and 64. */
static void __attribute__((noreturn))
usage(int asked)
{
	FILE	*f = asked ? stdout : stderr;

	fprintf(f, "usage: qmsd [-fhnvV] [-c file] [-S socket]\n");
	if (asked)
		fprintf(f,
		    "  -c file    configuration (default /etc/qmsd/qmsd.conf)\n"
		    "  -f         stay in the foreground, log to stderr\n"
		    "  -h, --help this help\n"
		    "  -n         check the configuration and exit\n"
		    "  -S socket  the control socket, overriding the file\n"
		    "  -v         log at the debug level\n"
		    "  -V         print the version and exit\n"
		    "See qmsd(8) and qmsd.conf(5).\n");
	exit(asked ? 0 : 64);
}

static void
notify_status(void)
{
	notify_status_soon(component_summary);
}

/*
 * The file named with -c, else the default file when it exists (looked for
 * again at every reload, so that creating it and reloading takes effect),
 * else NULL for the built-in defaults.
 */
static const char *
config_file(void)
{
	if (qmsd.conf_path != NULL)
		return (qmsd.conf_path);
	if (access(QMSD_DEFAULT_CONFIG, F_OK) == 0)
		return (QMSD_DEFAULT_CONFIG);
	return (NULL);
}

/* The level the file asks for, raised by -v. */
static void
apply_log_level(const struct config *c)
{
	enum log_level	lvl = c->log_level;

	if (qmsd.verbose > 0)
		lvl = LOG_LEVEL_DEBUG;
	log_set_level(lvl);
}

/*
 * The egress CA (egress-ca.h), made or loaded when an agent has a secret
 * for the proxy to put in; a reload that cannot have it is refused.
 */
static int
secrets_ca(const struct config *c, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < c->nagents; i++)
		if (c->agents[i].secrets != NULL &&
		    c->agents[i].secrets[0] != NULL)
			break;
	if (i == c->nagents)
		return (0);
	return (egress_ca_init(c->state_dir, c->upstream_ca, err, errlen));
}

/* Who may change things over the control socket. */
static void
control_auth(const struct config *c, struct ctl_auth *auth)
{
	memset(auth, 0, sizeof(*auth));
	auth->run_as_uid = c->run_as_uid;
	auth->run_as = c->run_as;
	auth->admin_gid = c->admin_gid;
	auth->admin_gid_found = c->admin_gid_found;
	auth->admin_group = c->admin_group;
}

/*
 * Every part takes up the configuration, at start-up and at each reload.
 * Our own listeners first: ready means they listen (a port that cannot be
 * bound is retried, and reported, without holding this up); children come
 * up on their own after.
 */
static void
configure_all(const struct config *c, int starting)
{
	struct ctl_auth	auth;

	control_auth(c, &auth);
	control_set_auth(&auth);
	git_tool_configure(c);
	http_configure(c);
	egress_proxy_configure(c);
	agent_socket_configure(c);
	if (starting)
		notify_send("READY=1");
	supervisor_configure(qms_mcp, c);
	gateway_configure();
	bridge_configure(c);
	policy_store_configure(c);
	agent_configure(c);
	manager_configure(c);
}

/* Who holds the lock, for the message a second qmsd gives. */
static void
lock_note_pid(void)
{
	char	pid[32];

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(state_lock, 0) == -1 ||
	    pwrite(state_lock, pid, strlen(pid), 0) == -1)
		log_warn("state directory lock");
}

/*
 * One qmsd per state directory: a second one, even on another control
 * socket, would adopt the same containers and rotate the same tokens.
 * The lock lives as long as the process (the descriptor is never
 * closed), so a qmsd that dies releases it.
 */
static int
lock_state_dir(const char *dir, char *err, size_t errlen)
{
	char	*path, pid[32] = "";
	ssize_t	 n;

	xasprintf(&path, "%s/qmsd.lock", dir);
	state_lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0600);
	if (state_lock == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return (-1);
	}
	if (flock(state_lock, LOCK_EX | LOCK_NB) == -1) {
		if ((n = pread(state_lock, pid, sizeof(pid) - 1, 0)) > 0)
			pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "another qmsd%s%s%s uses the state "
		    "directory %s (%s is locked); stop it, or give this one "
		    "its own state-dir", pid[0] != '\0' ? " (pid " : "", pid,
		    pid[0] != '\0' ? ")" : "", dir, path);
		free(path);
		return (-1);
	}
	free(path);
	lock_note_pid();
	return (0);
}

int
qmsd_reload(char *err, size_t errlen)
{
	struct config	*c;

	notify_send("RELOADING=1");
	/*
	 * The secrets with the configuration that declares them, or
	 * neither: a file that cannot give them keeps both as they were.
	 */
	if ((c = config_load(config_file(), err, errlen)) == NULL ||
	    secret_store_load(c, err, errlen) == -1 ||
	    secrets_ca(c, err, errlen) == -1) {
		config_free(c);
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		free(qmsd.reload_error);
		qmsd.reload_error = xstrdup(err);
		notify_send("READY=1");
		notify_status();
		return (-1);
	}
	if (strcmp(c->socket, qmsd.conf->socket) != 0)
		log_warnx("reload: socket %s takes effect at the next start",
		    c->socket);
	config_free(qmsd.conf);
	qmsd.conf = c;
	qmsd.conf_loaded = time(NULL);
	free(qmsd.reload_error);
	qmsd.reload_error = NULL;
	apply_log_level(c);
	proc_forget_groups();
	configure_all(c, 0);
	log_info("configuration reloaded from %s",
	    c->file != NULL ? c->file : "built-in defaults");
	notify_send("READY=1");
	notify_status();
	return (0);
}

cJSON *
qmsd_status_json(void)
{
	cJSON	*o, *d;
	char	 started[32];

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "health", health_name(component_health()));
	d = cJSON_AddObjectToObject(o, "daemon");
	cJSON_AddNumberToObject(d, "pid", getpid());
	cJSON_AddStringToObject(d, "version", QMSD_VERSION);
	cJSON_AddNumberToObject(d, "protocol", PROTO_VERSION);
	format_time(qmsd.started, started, sizeof(started));
	cJSON_AddStringToObject(d, "started", started);
	cJSON_AddNumberToObject(d, "uptime",
	    (double)(now_ms() - qmsd.started_ms) / 1000);
	if (qmsd.conf->file != NULL)
		cJSON_AddStringToObject(d, "config", qmsd.conf->file);
	else
		cJSON_AddNullToObject(d, "config");
	cJSON_AddStringToObject(d, "socket", control_path());
	format_time(qmsd.conf_loaded, started, sizeof(started));
	cJSON_AddStringToObject(d, "config_loaded", started);
	/* A failed reload is said until a good one: what runs is older. */
	if (qmsd.reload_error != NULL)
		cJSON_AddStringToObject(d, "reload_error", qmsd.reload_error);
	else
		cJSON_AddNullToObject(d, "reload_error");
	cJSON_AddStringToObject(d, "project_root", qmsd.conf->project_root);
	cJSON_AddStringToObject(d, "run_as", qmsd.conf->run_as);
	cJSON_AddItemToObject(o, "components", component_list_json());
	return (o);
}

static void
shutdown_step(void *arg)
{
	event_base_loopexit(qmsd.base, NULL);
}

static void
on_shutdown_deadline(evutil_socket_t fd, short ev, void *arg)
{
	log_warnx("children still running after the grace period; exiting");
	event_base_loopexit(qmsd.base, NULL);
}

/*
 * Stop the children first, each within its stop-timeout; the loop ends
 * when the last is gone, or at a deadline past every stop-timeout.
 */
/* Why qmsd stops, for the audit log's last record. */
static char	stop_reason[128];

static void
shutdown_begin(const char *why)
{
	struct timeval	tv;
	uint64_t	ms;

	if (shutting_down)
		return;
	shutting_down = 1;
	snprintf(stop_reason, sizeof(stop_reason), "%s", why);
	log_info("%s: shutting down", why);
	notify_send("STOPPING=1");
	ms = qmsd.conf->qms_mcp.stop_timeout + SHUTDOWN_GRACE_MS;
	timeval_ms(&tv, ms);
	shutdown_ev = evtimer_new(qmsd.base, on_shutdown_deadline, NULL);
	evtimer_add(shutdown_ev, &tv);
	supervisor_shutdown(qms_mcp, shutdown_step, NULL);
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	char	err[1024];

	switch (sig) {
	case SIGHUP:
		log_info("SIGHUP: reloading the configuration");
		qmsd_reload(err, sizeof(err));
		break;
	case SIGTERM:
	case SIGINT:
		shutdown_begin(strsignal(sig));
		break;
	}
}

/*
 * The watchdog is petted from a loop timer, not a separate clock: if the
 * loop stops turning, the pings stop and systemd restarts us.
 */
static void
on_watchdog(evutil_socket_t fd, short ev, void *arg)
{
	notify_send("WATCHDOG=1");
}

static void
watchdog_init(void)
{
	struct timeval	tv;
	uint64_t	usec;

	if (sd_watchdog_enabled(1, &usec) <= 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	watchdog_ev = event_new(qmsd.base, -1, EV_PERSIST, on_watchdog, NULL);
	event_add(watchdog_ev, &tv);
	log_debug("watchdog every %llu ms", (unsigned long long)usec / 1000);
}

/*
 * Socket activation hands us one Unix stream socket; anything else is a
 * unit file mistake worth stopping for.
 */
static int
passed_socket(void)
{
	int	n;

	n = sd_listen_fds(1);
	if (n <= 0)
		return (-1);
	if (n > 1)
		fatalx("socket activation passed %d sockets; expected one", n);
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0)
	    <= 0)
		fatalx("socket activation passed a descriptor that is not a "
		    "listening Unix stream socket");
	return (SD_LISTEN_FDS_START);
}

int
main(int argc, char *argv[])
{
	struct event	*sig_ev[3];
	struct ctl_auth	 auth;
	const int	 sigs[3] = { SIGHUP, SIGTERM, SIGINT };
	const char	*conf_file = NULL, *socket_opt = NULL;
	char		 err[1024], *real = NULL;
	int		 ch, foreground = 0, check_only = 0, fd, i;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "c:fhnS:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_file = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'S':
			socket_opt = optarg;
			break;
		case 'v':
			qmsd.verbose++;
			break;
		case 'V':
			printf("qmsd %s (control protocol %d)\n", QMSD_VERSION,
			    PROTO_VERSION);
			return (0);
		case 'h':
			usage(1);
		default:
			usage(0);
		}
	}
	if (optind != argc)
		usage(0);
	log_init("qmsd", sd_journal_sendv);

	/*
	 * A file named with -c is kept as an absolute path, so that a reload
	 * finds it whatever the working directory is by then.
	 */
	if (conf_file != NULL && (real = realpath(conf_file, NULL)) != NULL)
		conf_file = real;
	qmsd.conf_path = conf_file;
	if ((qmsd.conf = config_load(config_file(), err,
	    sizeof(err))) == NULL) {
		if (check_only) {
			fprintf(stderr, "%s\n", err);
			return (1);
		}
		log_errorx("%s", err);
		/* EX_CONFIG, so that systemd need not retry a bad file. */
		return (78);
	}
	if (check_only) {
		/* What a reload would read too: the secrets' env-files. */
		if (secret_store_load(qmsd.conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			secret_store_clear();
			config_free(qmsd.conf);
			free(real);
			return (1);
		}
		secret_store_clear();
		printf("configuration OK\n");
		config_free(qmsd.conf);
		free(real);
		return (0);
	}
	apply_log_level(qmsd.conf);
	/* Before detaching, so that a secret that cannot be read says why. */
	if (secret_store_load(qmsd.conf, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return (78);
	}
	qmsd.socket_path = xstrdup(socket_opt != NULL ? socket_opt :
	    qmsd.conf->socket);
	qmsd.started = qmsd.conf_loaded = time(NULL);
	qmsd.started_ms = now_ms();

	signal(SIGPIPE, SIG_IGN);
	if ((qmsd.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < 3; i++) {
		sig_ev[i] = evsignal_new(qmsd.base, sigs[i], on_signal, NULL);
		event_add(sig_ev[i], NULL);
	}

	notify_init(qmsd.base);
	curl_loop_init(qmsd.base);
	component_set_hook(notify_status);
	control_component = component_add("control");
	qms_mcp = supervisor_new(qmsd.base, "qms-mcp");
	if (token_init(qmsd.conf->state_dir, err, sizeof(err)) == -1 ||
	    secrets_ca(qmsd.conf, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return (1);
	}
	proc_raise_nofile();
	http_init(qmsd.base);
	egress_audit_init();
	egress_proxy_init(qmsd.base);
	agent_socket_init(qmsd.base);
	git_tool_init(qmsd.base);
	hooks_init();
	console_init();
	gateway_init(qms_mcp);
	docker_init(qmsd.base, qmsd.conf->docker.socket);
	bridge_init(qmsd.base);
	agent_init(qmsd.base);
	session_init(qmsd.base, qms_mcp);
	manager_init(qmsd.base);
	fd = passed_socket();
	qmsd.socket_passed = fd >= 0;
	control_auth(qmsd.conf, &auth);
	if (control_init(qmsd.base, qmsd.socket_path, fd, methods, nmethods,
	    &auth, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return (1);
	}
	/* After the socket, whose "already running" says more when it is
	 * the same qmsd. */
	if (lock_state_dir(qmsd.conf->state_dir, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		control_shutdown();
		return (1);
	}
	/* Once the state directory is this qmsd's alone. */
	if (audit_log_prepare(qmsd.conf->state_dir, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		control_shutdown();
		return (1);
	}
	console_store_init(qmsd.base, qmsd.conf->state_dir);
	component_set(control_component, "ready", HEALTH_OK, "listening on %s%s",
	    control_path(), qmsd.socket_passed ? " (socket activation)" : "");
	log_info("qmsd %s ready: project %s, socket %s, config %s",
	    QMSD_VERSION, qmsd.conf->project_root, control_path(),
	    qmsd.conf->file != NULL ? qmsd.conf->file : "built-in defaults");

	/* Detach only once start-up errors can no longer reach stderr. */
	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		lock_note_pid();	/* the lock went with the descriptor */
		log_use_journal();
	}
	/* After daemon(): the writer is this process's child. */
	if (audit_log_open(qmsd.base, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		control_shutdown();
		return (1);
	}
	watchdog_init();
	configure_all(qmsd.conf, 1);
	notify_status();

	event_base_dispatch(qmsd.base);

	console_shutdown();
	console_store_shutdown();
	/* Sessions and exec asks answered while their clients are there. */
	manager_stop();
	tmux_link_shutdown();
	session_shutdown();
	control_shutdown();
	component_set_hook(NULL);
	agent_shutdown();
	policy_store_shutdown();
	manager_shutdown();
	bridge_shutdown();
	docker_shutdown();
	gateway_shutdown();
	git_tool_shutdown();
	agent_socket_shutdown();
	egress_proxy_shutdown();
	egress_audit_shutdown();
	http_shutdown();
	/* Last of what records: the stop, and the head to the journal. */
	audit_log_close(stop_reason[0] != '\0' ? stop_reason :
	    "the loop ended");
	token_shutdown();
	secret_store_clear();
	egress_ca_shutdown();
	console_auth_clear();
	supervisor_free(qms_mcp);
	probe_shutdown();
	curl_loop_shutdown();
	if (shutdown_ev != NULL)
		event_free(shutdown_ev);
	component_remove(control_component);
	if (watchdog_ev != NULL)
		event_free(watchdog_ev);
	for (i = 0; i < 3; i++)
		event_free(sig_ev[i]);
	notify_shutdown();
	event_base_free(qmsd.base);
	config_free(qmsd.conf);
	free(qmsd.reload_error);
	free(qmsd.socket_path);
	free(real);
	log_info("stopped");
	return (0);
}
