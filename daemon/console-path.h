/*
 * The console's URL paths, parsed: pure, for the fuzzer and unit test.
 */
#ifndef QMSD_CONSOLE_PATH_H
#define QMSD_CONSOLE_PATH_H

#include <stddef.h>

/*
 * An agent's API path after /console/api/, "agents/NAME/ACTION": NAME
 * copied into name (len bytes), ACTION returned (within rest); NULL when
 * rest is no such path (no name or action, a name too long, more parts).
 */
const char *console_path_agent(const char *rest, char *name, size_t len);

#endif
