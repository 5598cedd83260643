/*
 * Shell-like word splitting with POSIX quoting and no expansion of any kind.
 *
 * A string is split into words the way sh(1) would split it, honouring
 * single quotes, double quotes and backslash, and nothing else.  Every
 * construct through which a shell would do more than split words is refused
 * with a reason, never passed on literally, so the caller never runs
 * something other than what the writer of the string meant:
 *
 *	outside quotes		refused
 *	;  &  |  ||  <  >  (  )	operators: another command, a pipe, a
 *				redirection or a subshell
 *	&&			an operator too, except in a chain, where it
 *				separates commands (argv_split_chain)
 *	`  $			command substitution, parameter expansion,
 *				$'...' and $"..." quoting, even a lone $
 *	*  ?  [			pathname expansion (quote to pass a pattern)
 *	{a,b}  {1..3}		brace expansion (a , or .. inside an open {);
 *				stash@{0} and HEAD@{1} are plain words
 *	~ at the start of a word or after = or :
 *				tilde expansion
 *	# at the start of a word
 *				a comment
 *	newline, other control characters
 *				a newline ends a command; the rest are
 *				invisible in logs
 *	backslash-newline, a trailing backslash
 *
 *	inside double quotes	$ and ` are refused, since a shell expands
 *				them there; \$ \` \" \\ are the literal
 *				character, any other \ is itself
 *	inside single quotes	everything is literal
 *
 * Inside either quotes a newline or a tab is literal (a multi-line commit
 * message); every other control character is refused everywhere.  A NUL
 * byte can only reach the counted form, argv_split_chain_n, which refuses
 * it.  Bytes from 0x80 up are passed through: git takes bytes.
 *
 * The functions are pure: no I/O, no global state.  They return a count,
 * or minus an argv_error, with a sentence in err naming the column.
 */
#ifndef QMSD_ARGV_H
#define QMSD_ARGV_H

#include <stddef.h>

enum argv_error {
	ARGV_OK = 0,
	ARGV_ENOMEM,		/* out of memory */
	ARGV_EQUOTE,		/* unterminated quote, trailing backslash */
	ARGV_EEXPAND,		/* $ ` glob brace tilde: we never expand */
	ARGV_EOPERATOR,		/* ; & | < > ( ), or && outside a chain */
	ARGV_ECOMMENT,		/* # at the start of a word */
	ARGV_ECONTROL,		/* newline, NUL, other control characters */
	ARGV_EEMPTY,		/* nothing before or after && */
};

/* A chain of commands joined by &&, each a NULL-terminated vector. */
struct argv_chain {
	char	***segv;
	size_t	   nseg;
};

/*
 * Split one command.  On success *argvp is a NULL-terminated vector to
 * free with argv_free and the word count is returned (0 for an empty or
 * blank string).  On failure -ARGV_E... is returned and *argvp is NULL.
 */
int	argv_split(const char *, char ***, char *, size_t);

/*
 * Split commands joined by &&.  Returns the number of commands (0 for a
 * blank string) and fills the chain, to free with argv_chain_free; or
 * -ARGV_E... with the chain empty.  An empty command before or after an
 * && is an error.  The _n form takes a counted string and refuses a NUL.
 */
int	argv_split_chain(const char *, struct argv_chain *, char *, size_t);
int	argv_split_chain_n(const char *, size_t, struct argv_chain *, char *,
	    size_t);

void	argv_free(char **);
void	argv_chain_free(struct argv_chain *);
size_t	argv_count(char *const *);
/* A deep copy (NULL for none is an empty vector); NULL if out of memory. */
char	**argv_copy(char *const *);

#endif
