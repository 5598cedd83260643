/*
 * The mask rule: what an agent may not see of the project, by path, and
 * the same rule as git exclude pathspecs.
 */
#include <stdio.h>
#include <string.h>

#include "argv.h"
#include "check.h"
#include "mask.h"

static const char *const masks[] = { "secrets", "QMS/private", NULL };
static const char *const users[] = { "a", "al", "alice", "b", NULL };

static int
hidden(const char *agent, const char *path, const char *want)
{
	char	why[256] = "";
	int	r;

	r = mask_path(agent, masks, path, why, sizeof(why));
	if (want == NULL)
		return r == 0;
	if (r != 1 || strcmp(why, want) != 0)
		fprintf(stderr, "%s: got %d \"%s\", want \"%s\"\n", path, r,
		    why, want);
	return r == 1 && strcmp(why, want) == 0;
}

int
main(void)
{
	char	**v;
	size_t	  i;
	int	  others = 0;

	/* The owner sees everything. */
	CHECK(hidden(NULL, ".env", NULL));
	CHECK(hidden(NULL, ".claude/users/bob/workspace/x", NULL));
	CHECK(hidden(NULL, ".mcp.json", NULL));

	/* Secrets at any depth. */
	CHECK(hidden("alice", ".env", ".env"));
	CHECK(hidden("alice", "a/b/.env", "a/b/.env"));
	CHECK(hidden("alice", "a/.env.local", "a/.env.local"));
	CHECK(hidden("alice", "deploy/prod.env", "deploy/prod.env"));
	CHECK(hidden("alice", "conf.env/inner", "conf.env"));
	CHECK(hidden("alice", "*.env", "*.env"));
	CHECK(hidden("alice", ".envrc", NULL));
	CHECK(hidden("alice", "env", NULL));
	CHECK(hidden("alice", "a/environment.md", NULL));

	/* The generated files holding tokens. */
	CHECK(hidden("alice", ".mcp.json", ".mcp.json"));
	CHECK(hidden("alice", "sub/.mcp.json", NULL));
	CHECK(hidden("alice", ".claude/settings.local.json",
	    ".claude/settings.local.json"));
	CHECK(hidden("alice", ".claude/settings.json", NULL));

	/* Other agents, configured or not; never the agent's own. */
	CHECK(hidden("alice", ".claude/users/bob", ".claude/users/bob"));
	CHECK(hidden("alice", ".claude/users/bob/workspace/f",
	    ".claude/users/bob"));
	CHECK(hidden("alice", ".claude/users/alicex/f",
	    ".claude/users/alicex"));
	CHECK(hidden("alice", ".claude/users/ali", ".claude/users/ali"));
	CHECK(hidden("alice", ".claude/users/alice/workspace/f", NULL));
	CHECK(hidden("alice", ".claude/users/alice", NULL));
	CHECK(hidden("alice", ".claude/users", NULL));
	CHECK(hidden("alice", ".claude/sessions/s1.md", NULL));

	/* Configured masks, and what is inside them. */
	CHECK(hidden("alice", "secrets", "secrets"));
	CHECK(hidden("alice", "secrets/key.pem", "secrets"));
	CHECK(hidden("alice", "secretsx", NULL));
	CHECK(hidden("alice", "QMS/private/a", "QMS/private"));
	CHECK(hidden("alice", "QMS", NULL));
	CHECK(hidden("alice", "", NULL));

	/* The pathspecs: none for the owner; for an agent, each rule. */
	v = mask_pathspecs(NULL, masks, users);
	CHECK(v != NULL && v[0] == NULL);
	argv_free(v);
	v = mask_pathspecs("al", masks, users);
	CHECK(v != NULL);
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		CHECK(strncmp(v[i], ":(top,", 6) == 0);
		if (strstr(v[i], ".claude/users/") != NULL)
			others++;
	}
	/* Each other entry by name, never the agent's own. */
	CHECK(others == 3);
	CHECK(v != NULL && argv_count(v) == 2 + 3 + 2);
	for (i = 0; v != NULL && v[i] != NULL; i++)
		CHECK(strcmp(v[i], ":(top,literal,exclude).claude/users/al") !=
		    0);
	CHECK(v != NULL && strcmp(v[argv_count(v) - 1],
	    ":(top,literal,exclude)QMS/private") == 0);
	argv_free(v);

	/* For reads, the same, and the names of secrets as wildcards. */
	v = mask_read_pathspecs(NULL, masks, users);
	CHECK(v != NULL && v[0] == NULL);
	argv_free(v);
	v = mask_read_pathspecs("al", masks, users);
	CHECK(v != NULL && argv_count(v) == 2 + 3 + 2 + 4);
	CHECK(v != NULL && strcmp(v[6], ":(top,literal,exclude)QMS/private")
	    == 0);
	CHECK(v != NULL && strcmp(v[7], ":(top,exclude)*.env") == 0);
	argv_free(v);
	/* The trees agents write: themselves and below, nothing beside. */
	CHECK(mask_agents_tree(".claude/users"));
	CHECK(mask_agents_tree(".claude/users/bob/x"));
	CHECK(mask_agents_tree(".claude/sessions"));
	CHECK(mask_agents_tree(".claude/sessions/s1/notes.md"));
	CHECK(!mask_agents_tree(".claude/usersx"));
	CHECK(!mask_agents_tree(".claude/sessions.bak/x"));
	CHECK(!mask_agents_tree(".claude"));
	CHECK(!mask_agents_tree("private/.claude/users"));

	return check_done("test-mask");
}
