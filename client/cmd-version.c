#include <stdio.h>

#include "config-build.h"
#include "proto.h"
#include "qmsctl.h"

static int	cmd_version_exec(int, char **);

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.usage = "",
	.summary = "print the versions of qmsctl, qmsd and the protocol",
	.exec = cmd_version_exec,
};

static int
cmd_version_exec(int argc, char **argv)
{
	cJSON	*res, *v, *p;
	char	 why[512];
	int	 rc;

	if (argc != 1) {
		cmd_usage(&cmd_version_entry);
		return (EXIT_USAGE);
	}
	printf("qmsctl %s (control protocol %d)\n", QMSD_VERSION,
	    PROTO_VERSION);
	if ((rc = ctl_call("version", NULL, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	v = cJSON_GetObjectItemCaseSensitive(res, "version");
	p = cJSON_GetObjectItemCaseSensitive(res, "protocol");
	printf("qmsd %s (control protocol %d)\n",
	    cJSON_IsString(v) ? v->valuestring : "?",
	    cJSON_IsNumber(p) ? p->valueint : 0);
	cJSON_Delete(res);
	return (EXIT_OK);
}
