/*
 * Logging in the style of OpenBSD's daemons: log_warn adds strerror(errno),
 * log_warnx does not; fatal and fatalx log and exit.  Messages go to the
 * journal with structured fields when stderr is the journal, else to stderr.
 */
#ifndef QMSD_LOG_H
#define QMSD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

struct iovec;
/* journal_send: sd_journal_sendv, or NULL to log to stderr only. */
void	log_init(const char *progname,
	    int (*journal_send)(const struct iovec *, int));
void	log_use_journal(void);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
int	log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);
int	log_to_journal(void);

void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A line on behalf of a component (a child's output, an audit record): the
 * journal gets QMSD_COMPONENT= and any extra FIELD=value strings given.
 */
void	log_component(enum log_level, const char *component,
	    const char *const *fields, const char *, ...)
	    __attribute__((format(printf, 4, 5)));

/* An audit record: written whatever the log level. */
void	log_audit(const char *component, const char *const *fields,
	    const char *, ...) __attribute__((format(printf, 3, 4)));

#endif
