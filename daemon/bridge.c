#include <sys/socket.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

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

/*
 * Docker 20.10 shows no Gateway for the default bridge it made itself
 * (only its Subnet): its gateway is then the address of the bridge's
 * interface (docker0), which Docker took from that subnet.  The
 * interface's address, if it lies in the subnet; else Docker's IPAM rule,
 * the subnet's first address.
 */
static int
gateway_of(const cJSON *net, const char *subnet, char *out, size_t len)
{
	const cJSON	*ifname;
	struct ifaddrs	*ifs, *i;
	struct in_addr	 base, a;
	char		 buf[64], *slash, *end;
	unsigned long	 bits;
	uint32_t	 mask;
	int		 found = 0;

	snprintf(buf, sizeof(buf), "%s", subnet);
	if ((slash = strchr(buf, '/')) == NULL)
		return (-1);
	*slash++ = '\0';
	bits = strtoul(slash, &end, 10);
	if (*end != '\0' || end == slash || bits < 1 || bits > 30 ||
	    inet_pton(AF_INET, buf, &base) != 1)
		return (-1);
	mask = htonl(~0U << (32 - bits));
	ifname = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(net, "Options"),
	    "com.docker.network.bridge.name");
	if (cJSON_IsString(ifname) && getifaddrs(&ifs) == 0) {
		for (i = ifs; i != NULL && !found; i = i->ifa_next) {
			if (i->ifa_addr == NULL ||
			    i->ifa_addr->sa_family != AF_INET ||
			    strcmp(i->ifa_name, ifname->valuestring) != 0)
				continue;
			a = ((struct sockaddr_in *)(void *)i->ifa_addr)->
			    sin_addr;
			found = (a.s_addr & mask) == (base.s_addr & mask);
		}
		freeifaddrs(ifs);
	}
	if (!found)
		a.s_addr = htonl((ntohl(base.s_addr) & ntohl(mask)) + 1);
	return (inet_ntop(AF_INET, &a, out, len) == NULL ? -1 : 0);
}

static void
network_done(const struct docker_reply *r, void *arg)
{
	const cJSON	*cfg, *c, *gw, *sub;
	struct in_addr	 a4;
	const char	*ip = NULL;
	char		 derived[INET_ADDRSTRLEN];

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
		cJSON_ArrayForEach(c, cfg) {
			sub = cJSON_GetObjectItemCaseSensitive(c, "Subnet");
			if (ip != NULL || !cJSON_IsString(sub))
				continue;
			if (gateway_of(r->json, sub->valuestring, derived,
			    sizeof(derived)) == 0)
				ip = derived;
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
bridge_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	bridge_refresh();
}

/* The engine is (again) reachable: ask now. */
static void
bridge_on_docker_ready(void *arg)
{
	bridge_refresh();
}

void
bridge_init(struct event_base *base)
{
	struct timeval	tv = { BRIDGE_RECHECK_S, 0 };

	br_timer = event_new(base, -1, EV_PERSIST, bridge_on_timer, NULL);
	evtimer_add(br_timer, &tv);
	docker_on_ready(bridge_on_docker_ready, NULL);
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
