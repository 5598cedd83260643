/*
 * The secrets below the project root that every agent's container masks:
 * each file (or link, or directory) whose name says it is one, at any
 * depth up to MASKS_DEPTH, skipping .git and node_modules (never a work
 * tree's files; a package's own .env is no secret of the owner's), and
 * the trees agents write: .claude/users (hidden from each container
 * whole, its own directory mounted back) and .claude/sessions (their
 * shared scratch).  What an agent writes it has read all along, so a mask
 * there protects nothing, and walking it would let an agent make the walk
 * as long as it likes, or push the count past MASKS_MAX and refuse every
 * agent's `up`.  Past MASKS_DEPTH or MASKS_DIRS the walk stops and `up` is
 * refused: a secret is never left visible because qmsd stopped looking.
 *
 * The walk is kept and watched with inotify, so `up` and `exec` do not
 * walk the repository on the loop each time; anything that could change
 * the answer (such a name appearing or going, a directory made, removed or
 * renamed, a lost event, a watch refused) drops the list, and the next
 * call walks afresh.  A list kept past such a change would leave a new
 * secret visible in a container: in every doubt, walk.
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
 * git runs as the owner, through process.c, off the loop: masks_prepare
 * asks it once, and its word is kept while inotify (a descriptor of its
 * own, so that the walk's directories coming and going leave it be)
 * watches .git/index and each of those files, watched before git reads
 * them: a change while it runs is seen, and it runs again, at most
 * MASKS_GIT_TRIES times in all.  Any such change drops the word, and git
 * is asked again MASKS_REFRESH_MS later without waiting for an up (so
 * that whoever computes the masks without masks_prepare finds a word); a
 * file named like a secret that git was not asked about drops it too.
 * In every
 * doubt the file is masked: git failing or past its deadline, no .git
 * directory at the root (a worktree, a repository above the root), a
 * watch refused.
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
 * over MASKS_BLOB_MAX, or one that cannot be written, leaves its
 * template masked.  Files of an older word are removed when a word is
 * made (a container that mounts one keeps reading it: a bind mount holds
 * its file, not its name).
 */
#ifndef QMSD_MASKS_H
#define QMSD_MASKS_H

#include <event2/event.h>

#include <stddef.h>

#define MASKS_DEPTH	32	/* directories deeper than this: refuse */
#define MASKS_DIRS	65536	/* more directories than this: refuse */
#define MASKS_MAX	256	/* more secrets than this: refuse */
#define MASKS_GIT_TIMEOUT 10	/* seconds git may take to answer */
#define MASKS_GIT_TRIES	3	/* runs when files change under it */
#define MASKS_REFRESH_MS 300	/* after a change, ask git again */
#define MASKS_BLOB_MAX	(1 << 20) /* a larger template stays masked */

struct config;

struct masks;

/*
 * A secret found: masked by /dev/null, or by an empty directory; or a
 * template git vouched for, shown by its snapshot.
 */
struct masks_file {
	char		*path;		/* relative to the root */
	int		 dir;		/* a directory, or a link to one */
	int		 file;		/* a regular file: git may vouch for it */
	const char	*snapshot;	/* the committed copy to mount; NULL */
};

typedef void	(*masks_ready_fn)(void *arg);

struct masks	*masks_new(struct event_base *);
void		 masks_free(struct masks *);
/* Who git runs as (the owner, [qmsd] run-as); where snapshots go. */
void		 masks_configure(struct masks *, const struct config *);
/*
 * Make the list current for root, git's word included; fn(arg) once it
 * is, at once when it already is (or when git cannot be asked: then
 * every secret is masked).  An arg already waiting is not added twice.
 */
void		 masks_prepare(struct masks *, const char *root,
		    masks_ready_fn, void *arg);
/* arg no longer waits (it is going away). */
void		 masks_unwait(struct masks *, void *arg);
/*
 * The secrets below root to mask, in the order found; the templates git
 * vouched for (after masks_prepare, while its word holds) carry the
 * snapshot to mount in their place.  Valid until the next call.  -1 with
 * why when there are too many to mask, or the walk stopped short.
 */
int		 masks_env_files(struct masks *, const char *root,
		    const struct masks_file **list, size_t *n, char *err,
		    size_t);
/*
 * fn(arg) when a change seen in the repository drops the kept list (from
 * the loop, never from inside masks_env_files): what agents would be made
 * from may differ now.
 */
void		 masks_on_change(struct masks *, void (*fn)(void *), void *arg);
/* How many walks so far (the tests and the benchmark count them). */
unsigned long	 masks_walks(const struct masks *);
/* How many times git was asked so far. */
unsigned long	 masks_git_runs(const struct masks *);

#endif
