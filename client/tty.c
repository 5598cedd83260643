/*
 * The terminal of qmsctl session: raw while attached, and restored on
 * every way out, so a shell is never left without echo.
 */
#include <sys/ioctl.h>

#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"

static struct termios	saved;
static int		saved_fd = -1;

void
tty_restore(void)
{
	if (saved_fd != -1) {
		tcsetattr(saved_fd, TCSAFLUSH, &saved);
		saved_fd = -1;
	}
}

int
tty_raw(int fd)
{
	struct termios	t;

	if (tcgetattr(fd, &saved) == -1)
		return (-1);
	t = saved;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSAFLUSH, &t) == -1)
		return (-1);
	saved_fd = fd;
	atexit(tty_restore);
	return (0);
}

int
tty_size(int fd, int *rows, int *cols)
{
	struct winsize	ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == -1 || ws.ws_row == 0)
		return (-1);
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return (0);
}
