/*
 * tmux's control mode, quoting and parsing; see tmux-control.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmux-control.h"

int
tmux_quote(const char *text, char *out, size_t outlen)
{
	const unsigned char	*p;
	size_t			 n = 0, need;

	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p < ' ' || *p == 0x7f)
			return (-1);
		need = *p == '\'' ? 4 : 1;
		/* The opening quote, the closing one and the NUL fit too. */
		if (n + (n == 0) + need + 2 > outlen)
			return (-1);
		if (n == 0)
			out[n++] = '\'';
		if (*p == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else
			out[n++] = (char)*p;
	}
	if (n == 0) {
		if (outlen < 3)
			return (-1);
		out[n++] = '\'';
	}
	out[n++] = '\'';
	out[n] = '\0';
	return (0);
}

void
tmux_control_init(struct tmux_control *tc, const struct tmux_control_cb *cb,
    void *arg)
{
	memset(tc, 0, sizeof(*tc));
	tc->cb = cb;
	tc->arg = arg;
}

/*
 * "%begin TIME NUMBER FLAGS" and its ends: word is the keyword with its
 * space.  0 with the number and flags, or -1.
 */
static int
guard(const char *line, const char *word, unsigned long *number, int *flags)
{
	const char	*p;
	char		*end;
	unsigned long	 v[3];
	int		 i;

	if (strncmp(line, word, strlen(word)) != 0)
		return (-1);
	p = line + strlen(word);
	for (i = 0; i < 3; i++) {
		if (*p < '0' || *p > '9')
			return (-1);
		v[i] = strtoul(p, &end, 10);
		p = end;
		if (i < 2 && *p++ != ' ')
			return (-1);
	}
	if (*p != '\0' || v[2] > 0xffff)
		return (-1);
	*number = v[1];
	*flags = (int)v[2];
	return (0);
}

static void
control_line(struct tmux_control *tc, const char *line)
{
	unsigned long	number;
	int		flags, ok;

	if (tc->in_block) {
		ok = guard(line, "%end ", &number, &flags) == 0;
		if ((ok || guard(line, "%error ", &number, &flags) == 0) &&
		    number == tc->number && flags == tc->flags) {
			tc->in_block = 0;
			tc->cb->reply(tc->arg, tc->flags, ok, tc->have_first ?
			    tc->first : "");
			return;
		}
		if (!tc->have_first) {
			snprintf(tc->first, sizeof(tc->first), "%s", line);
			tc->have_first = 1;
		}
		return;
	}
	if (guard(line, "%begin ", &number, &flags) == 0) {
		tc->in_block = 1;
		tc->number = number;
		tc->flags = flags;
		tc->have_first = 0;
		tc->first[0] = '\0';
		return;
	}
	if (strcmp(line, "%exit") == 0 || strncmp(line, "%exit ", 6) == 0) {
		tc->exited = 1;
		tc->cb->exit(tc->arg, line[5] == ' ' ? line + 6 : "");
	}
	/* Other notifications say nothing qmsd needs. */
}

void
tmux_control_feed(struct tmux_control *tc, const char *data, size_t len)
{
	size_t	i;
	char	c;

	for (i = 0; i < len && !tc->exited; i++) {
		c = data[i];
		if (c == '\n') {
			tc->line[tc->len] = '\0';
			/* tmux ends lines with \n; a \r before it is not its. */
			if (tc->len > 0 && tc->line[tc->len - 1] == '\r')
				tc->line[tc->len - 1] = '\0';
			tc->len = 0;
			control_line(tc, tc->line);
			continue;
		}
		if (c == '\0')
			c = ' ';	/* a line is text; NUL would cut it */
		if (tc->len < sizeof(tc->line) - 1)
			tc->line[tc->len++] = c;
	}
}
