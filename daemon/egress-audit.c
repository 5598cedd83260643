/* TEMPORARY stand-in until wt-audit's egress-audit.c is merged. */
#include <stdio.h>
#include "egress-audit.h"
#include "log.h"
void egress_audit_init(void) {}
void egress_audit_shutdown(void) {}
void
egress_audit_record(const struct egress_record *r)
{
	log_info("egress: %s %s %s %s %s %d %s up %llu down %llu", r->agent,
	    r->event, r->method, r->target, r->address ? r->address : "-",
	    r->status, r->reason ? r->reason : "-",
	    (unsigned long long)r->bytes_up, (unsigned long long)r->bytes_down);
}
void egress_audit_open(const char *agent, int delta) { (void)agent; (void)delta; }
cJSON *egress_audit_counts(const char *agent) { (void)agent; return (NULL); }
