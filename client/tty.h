#ifndef QMSD_TTY_H
#define QMSD_TTY_H

/* Raw mode on fd, restored by tty_restore (also safe from a handler). */
int	tty_raw(int fd);
void	tty_restore(void);
int	tty_size(int fd, int *rows, int *cols);

#endif
