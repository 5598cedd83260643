/*
 * One agent's notifications to type into its session, kept across qmsd's
 * restarts so that each is delivered once: STATE/agents/NAME/deliveries,
 * a JSON document only root reads (0600, in root's state directory),
 * replaced whole at each save (a new file synced, then renamed over).
 * The records are in memory between a load and a save; nothing here
 * touches a file but deliveries_load() and deliveries_save(), and the
 * parse and format between text and records are pure (fuzzed).
 *
 * An item's record is found by its name: at most one record per name.
 * Ids grow by one from 1 and are never given twice, not even after the
 * record they named is removed (the file keeps the next one).
 */
#ifndef QMSD_DELIVERIES_H
#define QMSD_DELIVERIES_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#define DELIVERIES_MAX		16384		/* records */
#define DELIVERY_TEXT_MAX	4096		/* bytes of the text to type */
#define DELIVERY_ITEM_MAX	255		/* bytes of an item's name */
#define DELIVERIES_FILE_MAX	(64 * 1024 * 1024)
/* Ids and times stay below 2^53, where JSON numbers are exact. */
#define DELIVERY_NUMBER_MAX	((1ULL << 53) - 1)

enum delivery_kind {
	DELIVERY_ITEM,		/* an inbox file arrived */
	DELIVERY_MESSAGE,	/* a person's text, from qmsctl notify */
};

enum delivery_state {
	DELIVERY_PENDING,	/* to type */
	DELIVERY_TYPED,		/* typed; UserPromptSubmit not seen yet */
	DELIVERY_DELIVERED,	/* the prompt reached Claude */
	DELIVERY_FAILED,	/* given up */
};

struct delivery {
	uint64_t		 id;
	enum delivery_kind	 kind;
	char			*item;		/* DELIVERY_ITEM's name; NULL */
	char			*text;		/* what is typed */
	enum delivery_state	 state;
	unsigned int		 attempts;	/* times typed */
	uint64_t		 created;	/* wall clock, ms */
	uint64_t		 typed;		/* last typed, ms; 0: never */
	TAILQ_ENTRY(delivery)	 entry;
};
TAILQ_HEAD(delivery_list, delivery);

struct deliveries {
	struct delivery_list	 list;		/* by id, oldest first */
	size_t			 n;
	uint64_t		 next_id;
};

struct deliveries	*deliveries_new(void);
void			 deliveries_free(struct deliveries *);

/*
 * The records in path.  A missing file is none: 0.  One that cannot be
 * read or parsed is renamed to path.corrupt (replacing an older one) and
 * the records start empty: -1 with what was wrong and where the file
 * went.  *out is set either way.
 */
int	 deliveries_load(const char *path, struct deliveries **out, char *err,
	    size_t);
/* Write them all to path (its directory made 0700 when missing); 0/-1. */
int	 deliveries_save(const struct deliveries *, const char *path,
	    char *err, size_t);

/*
 * Parse the file's text (len bytes, then a NUL), strictly (every field
 * of its type and in its bounds, no other field, no two records with one
 * id or one item's name, at most DELIVERIES_MAX): a new set, or NULL
 * with why.
 */
struct deliveries	*deliveries_parse(const char *text, size_t len,
			    char *err, size_t);
/* The file's text for them (free it). */
char			*deliveries_format(const struct deliveries *);

/*
 * A new pending record with the next id, at the end; item is NULL for
 * DELIVERY_MESSAGE.  NULL with why: at DELIVERIES_MAX, an item that
 * has a record already, or a text or name out of bounds.
 */
struct delivery	*deliveries_add(struct deliveries *, enum delivery_kind,
		    const char *item, const char *text, uint64_t now_ms,
		    char *err, size_t);
struct delivery	*deliveries_find(const struct deliveries *, uint64_t id);
struct delivery	*deliveries_find_item(const struct deliveries *,
		    const char *item);
/*
 * Move d to state; to DELIVERY_TYPED counts an attempt and sets typed to
 * now_ms.
 */
void		 deliveries_set_state(struct delivery *, enum delivery_state,
		    uint64_t now_ms);
void		 deliveries_remove(struct deliveries *, struct delivery *);

/* The words the file and the status output use. */
const char	*delivery_kind_name(enum delivery_kind);
const char	*delivery_state_name(enum delivery_state);

#endif
