/*
 * What test_tmux_link.py hands a real tmux: tmux_quote of argv[1], as
 * qmsd quotes a text it types.  Exits 1 when the text is refused.
 */
#include <stdio.h>

#include "tmux-control.h"

int
main(int argc, char **argv)
{
	char	out[16384];

	if (argc != 2 || tmux_quote(argv[1], out, sizeof(out)) == -1)
		return (1);
	printf("%s\n", out);
	return (0);
}
