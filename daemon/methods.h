/*
 * The control methods: every request qmsctl can make, each a function
 * that reads its params, calls the part of qmsd that does the work, and
 * answers through control.h.  To add one: a function and a row in
 * methods[] (methods.c), and its entry in docs/control-protocol.md.
 */
#ifndef QMSD_METHODS_H
#define QMSD_METHODS_H

#include <stddef.h>

struct ctl_method;

extern const struct ctl_method	methods[];
extern const size_t		nmethods;

#endif
