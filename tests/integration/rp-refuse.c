/*
 * What test_receive_pack.py answers a real git push with: the request
 * body on stdin read by rp_commands_parse, and rp_refusal of every
 * command with argv[1] on stdout.  Exits 2 (why on stderr) when the
 * commands cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "receive-pack.h"

static struct rp_commands	c;

int
main(int argc, char **argv)
{
	static char	 buf[4 << 20];
	char		 why[256], *out;
	size_t		 len = 0, olen;
	ssize_t		 n;
	int		 r;

	if (argc != 2)
		return (1);
	while (len < sizeof(buf) &&
	    (n = read(0, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if ((r = rp_commands_parse(buf, len, &c, why, sizeof(why))) != 1) {
		fprintf(stderr, "rp-refuse: %s\n", r == 0 ? "no flush" : why);
		return (2);
	}
	for (n = 0; (size_t)n < c.n; n++)
		fprintf(stderr, "rp-refuse: %s%s\n", c.cmds[n].ref,
		    c.cmds[n].deletes ? " (delete)" : "");
	fprintf(stderr, "rp-refuse: report-status %d side-band-64k %d\n",
	    c.report_status, c.side_band_64k);
	if ((out = rp_refusal(&c, argv[1], &olen)) == NULL)
		return (1);
	if (fwrite(out, 1, olen, stdout) != olen)
		return (1);
	free(out);
	return (0);
}
