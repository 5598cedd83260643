#include <stdlib.h>

#include "curl-loop.h"
#include "log.h"
#include "util.h"

struct transfer {
	curl_loop_done	 done;
	void		*arg;
};

static struct event_base *cl_base;
static CURLM		*cl_multi;
static struct event	*cl_timer;
/*
 * Transfers started from inside one of libcurl's callbacks (a streamed
 * body handed on as it comes, such as Docker's events): libcurl refuses
 * a handle added there, so it is added once libcurl has returned.
 */
static int		 cl_in_curl;
static CURL		**cl_later;
static size_t		 cl_nlater, cl_later_size;

static void
action(curl_socket_t fd, int flags)
{
	size_t	i;
	int	running;

	cl_in_curl = 1;
	curl_multi_socket_action(cl_multi, fd, flags, &running);
	cl_in_curl = 0;
	for (i = 0; i < cl_nlater; i++)
		if (curl_multi_add_handle(cl_multi, cl_later[i]) != CURLM_OK)
			fatalx("curl_multi_add_handle failed");
	cl_nlater = 0;
}

static void
check_done(void)
{
	struct transfer	*t;
	CURLMsg		*msg;
	CURLcode	 rc;
	CURL		*easy;
	int		 left;

	while ((msg = curl_multi_info_read(cl_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(cl_multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (t != NULL) {
			t->done(easy, rc, t->arg);
			free(t);
		}
	}
}

static void
on_socket_event(evutil_socket_t fd, short ev, void *arg)
{
	int	flags = 0;

	if (ev & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (ev & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	action(fd, flags);
	check_done();
}

static void
on_timeout(evutil_socket_t fd, short ev, void *arg)
{
	action(CURL_SOCKET_TIMEOUT, 0);
	check_done();
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct event	*ev = sockp;
	short		 kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(cl_multi, s, NULL);
		return (0);
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ev != NULL)
		event_free(ev);
	ev = event_new(cl_base, s, kind, on_socket_event, NULL);
	event_add(ev, NULL);
	curl_multi_assign(cl_multi, s, ev);
	return (0);
}

static int
timer_cb(CURLM *multi, long ms, void *userp)
{
	struct timeval	tv;

	if (ms < 0) {
		evtimer_del(cl_timer);
		return (0);
	}
	timeval_ms(&tv, (uint64_t)ms);
	evtimer_add(cl_timer, &tv);
	return (0);
}

void
curl_loop_init(struct event_base *base)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	cl_base = base;
	if ((cl_multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	cl_timer = evtimer_new(base, on_timeout, NULL);
	curl_multi_setopt(cl_multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(cl_multi, CURLMOPT_TIMERFUNCTION, timer_cb);
}

void
curl_loop_add(CURL *easy, curl_loop_done done, void *arg)
{
	struct transfer	*t;

	t = xcalloc(1, sizeof(*t));
	t->done = done;
	t->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	/* No signals (curl would use SIGALRM for DNS timeouts). */
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	if (cl_in_curl) {
		if (cl_nlater == cl_later_size) {
			cl_later_size = cl_later_size ? cl_later_size * 2 : 8;
			if ((cl_later = realloc(cl_later, cl_later_size *
			    sizeof(*cl_later))) == NULL)
				fatal("curl_loop_add");
		}
		cl_later[cl_nlater++] = easy;
		return;
	}
	/* Fails only on misuse or no memory; callers need not handle it. */
	if (curl_multi_add_handle(cl_multi, easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
}

void
curl_loop_remove(CURL *easy)
{
	struct transfer	*t = NULL;
	size_t		 i;

	for (i = 0; i < cl_nlater; i++)
		if (cl_later[i] == easy) {
			cl_later[i] = cl_later[--cl_nlater];
			break;
		}
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	curl_multi_remove_handle(cl_multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(t);
}

void
curl_loop_shutdown(void)
{
	if (cl_multi == NULL)
		return;
	curl_multi_cleanup(cl_multi);
	cl_multi = NULL;
	free(cl_later);
	cl_later = NULL;
	cl_nlater = cl_later_size = 0;
	event_free(cl_timer);
	curl_global_cleanup();
}
