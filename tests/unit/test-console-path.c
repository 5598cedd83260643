/* console-path.c: the agents' API paths, what a browser's URL may be. */
#include <string.h>

#include "check.h"
#include "console-path.h"

static void
test_agent_path(void)
{
	char		 name[8];
	const char	*a;

	a = console_path_agent("agents/docs/up", name, sizeof(name));
	CHECK(a != NULL && strcmp(a, "up") == 0 && strcmp(name, "docs") == 0);
	a = console_path_agent("agents/docs/terminal", name, sizeof(name));
	CHECK(a != NULL && strcmp(a, "terminal") == 0);
	/* Seven bytes fit with the NUL; eight do not. */
	CHECK(console_path_agent("agents/1234567/up", name,
	    sizeof(name)) != NULL);
	CHECK(console_path_agent("agents/12345678/up", name,
	    sizeof(name)) == NULL);
	CHECK(console_path_agent("agents//up", name, sizeof(name)) == NULL);
	CHECK(console_path_agent("agents/docs/", name, sizeof(name)) ==
	    NULL);
	CHECK(console_path_agent("agents/docs", name, sizeof(name)) ==
	    NULL);
	CHECK(console_path_agent("agents/docs/up/x", name,
	    sizeof(name)) == NULL);
	CHECK(console_path_agent("agent/docs/up", name, sizeof(name)) ==
	    NULL);
	CHECK(console_path_agent("", name, sizeof(name)) == NULL);
	CHECK(console_path_agent("state", name, sizeof(name)) == NULL);
}

int
main(void)
{
	test_agent_path();
	return (check_done("console-path"));
}
