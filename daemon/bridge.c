#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bridge.h"
#include "config.h"
#include "docker.h"
#include "http.h"
#include "log.h"
#include "util.h"

/* Docker has no event for an address change of a network; look again. */
#define BRIDGE_RECHECK_S	10

static struct event	*br_timer;
static char		 br_network[128] = "bridge";
static int		 br_asking;

static void
network_done(const struct docker_reply *r, void *arg)
{
	const cJSON	*cfg, *c, *gw;
	struct in_addr	 a4;
	const char	*ip = NULL;

	br_asking = 0;
	if (r->status == 200) {
		cfg = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->json, "IPAM"),
		    "Config");
		cJSON_ArrayForEach(c, cfg) {
			gw = cJSON_GetObjectItemCaseSensitive(c, "Gateway");
			/* IPv4: what host.docker.internal:host-gateway is. */
			if (cJSON_IsString(gw) &&
			    inet_pton(AF_INET, gw->valuestring, &a4) == 1) {
				ip = gw->valuestring;
				break;
			}
		}
		http_set_bridge(ip, ip != NULL ? NULL : "the Docker network "
		    "has no IPv4 gateway");
	} else if (r->status == 404)
		http_set_bridge(NULL, "no Docker network by that name "
		    "([http] docker-network)");
	else
		http_set_bridge(NULL, r->error != NULL ? r->error :
		    "Docker did not answer");
}

void
bridge_refresh(void)
{
	char	path[200];

	if (!docker_ready() || br_asking)
		return;
	br_asking = 1;
	snprintf(path, sizeof(path), "/networks/%s", br_network);
	docker_request("GET", path, NULL, network_done, NULL);
}

static void
on_timer(evutil_socket_t fd, short ev, void *arg)
{
	bridge_refresh();
}

/* Docker (re)connected: the network may be new, or its gateway. */
static void
bridge_on_docker_ready(void *arg)
{
	bridge_refresh();
}

void
bridge_init(struct event_base *base)
{
	struct timeval	tv = { BRIDGE_RECHECK_S, 0 };

	docker_on_ready(bridge_on_docker_ready, NULL);
	br_timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
	evtimer_add(br_timer, &tv);
}

void
bridge_configure(const struct config *c)
{
	snprintf(br_network, sizeof(br_network), "%s",
	    c->http.docker_network);
	bridge_refresh();
}

void
bridge_shutdown(void)
{
	if (br_timer != NULL)
		event_free(br_timer);
	br_timer = NULL;
}
