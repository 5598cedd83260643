/*
 * git's word on the tracked templates among the secrets masks.c finds.
 *
 * A tracked template (docker/.env.example) is no secret: its committed
 * content is in .git, which the container reads.  Masked, it shows as
 * modified in the container's git status.  So a regular file whose name
 * says secret is left unmasked when git says it is tracked and its working
 * copy is unmodified (git ls-files -v -c -m: tagged H, never C; the lower
 * case of assume-unchanged and S of skip-worktree do not count).  What the
 * index holds and the work tree matches is in .git/objects, readable in
 * the container anyway, committed or only staged.  A working copy that
 * differs (a real token pasted into the template) stays masked.
 *
 * git runs as the owner, through process.c, off the loop: templates_prepare
 * asks it once, and its word is kept while inotify (a descriptor of its
 * own, so that the walk's directories coming and going leave it be)
 * watches .git/index and each of those files, watched before git reads
 * them: a change while it runs is seen, and it runs again, at most
 * TEMPLATES_GIT_TRIES times in all.  Any such change drops the word, and
 * git is asked again TEMPLATES_REFRESH_MS later without waiting for an up
 * (so that whoever computes the masks without masks_prepare finds a
 * word); a file named like a secret that git was not asked about drops it
 * too.  In every doubt the file is masked: git failing or past its
 * deadline, no .git directory at the root (a worktree, a repository above
 * the root), a watch refused.
 *
 * The container never sees the working copy git vouched for, only what
 * git vouched for: the index's blob (its id from the same ls-files, -s),
 * written by `git cat-file blob ID` run as the owner, one at a time, to
 * STATE/templates/ID, read-only, and mounted over the template as a mask
 * is.  A word is kept for as long as the working copy is unmodified, but
 * a container lives longer: a token pasted into the template after its
 * up would otherwise show there at once, and for as long as a process
 * of the agent's holds off the recreate that masks it.  The id is in the
 * mount's source, so a template committed anew changes the spec.  A blob
 * over TEMPLATES_BLOB_MAX, or one that cannot be written, leaves its
 * template masked.  Files of an older word are removed when a word is
 * made (a container that mounts one keeps reading it: a bind mount holds
 * its file, not its name).
 *
 * The walk (masks.c) owns the list of secrets; this file only reads it,
 * through the templates_walk it is given, and says which of them git
 * vouched for.
 */
#ifndef QMSD_TEMPLATES_H
#define QMSD_TEMPLATES_H

#include <event2/event.h>

#include <stddef.h>

#include "masks.h"

#define TEMPLATES_GIT_TIMEOUT 10	/* seconds git may take to answer */
#define TEMPLATES_GIT_TRIES 3		/* runs when files change under it */
#define TEMPLATES_REFRESH_MS 300	/* after a change, ask git again */
#define TEMPLATES_BLOB_MAX (1 << 20)	/* a larger template stays masked */

struct config;

struct templates;

/* What the walk tells git's word, and what it learns from it. */
struct templates_walk {
	/*
	 * The root and the secrets its latest walk found (each with file
	 * set when git may vouch for it); 1 when that walk is kept current
	 * by inotify, 0 when it is not (then a change may not have been
	 * seen: git is not asked again until the next up).
	 */
	int	(*files)(void *arg, const char **root,
		    const struct masks_file **list, size_t *n);
	/* The word changed: a template shown or masked anew. */
	void	(*changed)(void *arg);
};

struct templates *templates_new(struct event_base *,
		    const struct templates_walk *, void *arg);
void		 templates_free(struct templates *);
/* Who git runs as (the owner, [qmsd] run-as); where snapshots go. */
void		 templates_configure(struct templates *,
		    const struct config *);
/* The word no longer holds (another root, say): git is asked again. */
void		 templates_forget(struct templates *, const char *why);
/*
 * Read what changed since git answered; whether its word still holds.
 * Called before templates_snapshot, so that a change already queued
 * counts.
 */
int		 templates_current(struct templates *);
/*
 * fn(arg) once git's word covers every file the walk found, at once when
 * it already does (or when git cannot be asked: then every secret is
 * masked).  An arg already waiting is not added twice.
 */
void		 templates_prepare(struct templates *, masks_ready_fn,
		    void *arg);
/* arg no longer waits (it is going away). */
void		 templates_unwait(struct templates *, void *arg);
/*
 * The committed copy to mount in place of f while git's word holds and
 * shows it; NULL: f stays masked.
 */
const char	*templates_snapshot(const struct templates *,
		    const struct masks_file *f);
/* How many times git was asked so far. */
unsigned long	 templates_git_runs(const struct templates *);

#endif
