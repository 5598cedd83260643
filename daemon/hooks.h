/*
 * POST /hooks/EVENT: Claude Code's hooks in an agent's container report
 * here (the command agent-spec.c puts in its settings.local.json), on
 * the agent's own channel with its own token; the parsed event goes to
 * manager.c.  The answer is 204 and nothing else: a hook's output would
 * reach the model.
 */
#ifndef QMSD_HOOKS_H
#define QMSD_HOOKS_H

#define HOOKS_PATH	"/hooks/"

void	 hooks_init(void);

#endif
