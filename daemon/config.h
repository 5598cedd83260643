/*
 * qmsd.conf(5): INI read with inih.  A configuration is parsed whole into a
 * fresh struct config and used only if every line is valid, which is what
 * lets SIGHUP keep the running configuration when the new file is bad.
 */
#ifndef QMSD_CONFIG_H
#define QMSD_CONFIG_H

#include <sys/types.h>

#include "log.h"

struct config {
	char		*file;		/* NULL: built-in defaults */
	char		*project_root;
	char		*run_as;	/* user name */
	uid_t		 run_as_uid;
	gid_t		 run_as_gid;
	char		*socket;
	char		*admin_group;
	gid_t		 admin_gid;	/* resolved at load time */
	int		 admin_gid_found;	/* the group exists */
	char		*state_dir;
	enum log_level	 log_level;
};

/*
 * Load file, or the built-in defaults when file is NULL.  On error returns
 * NULL with "FILE:LINE: message" (or a message about the defaults) in err.
 */
struct config	*config_load(const char *file, char *err, size_t errlen);
void		 config_free(struct config *);

/* The default control socket for this user (root or not). */
char		*config_default_socket(void);

#endif
