/* Priorities 0..15 on KFD's scale, the pipe priority KFD derives from them, and the two named
 * classes the scheduler reasons about. */
#ifndef GPRIO_PRIORITY_H
#define GPRIO_PRIORITY_H

#include "gprio/types.h"

#define GPRIO_PRIO_MIN    0
#define GPRIO_PRIO_MAX    15
#define GPRIO_PRIO_LEVELS (GPRIO_PRIO_MAX + 1)

/* KFD pipe priority (kfd_mqd_manager.c: pipe_priority_map): LOW 0-6, MEDIUM 7-10, HIGH 11-15. */
enum gprio_pipe_prio { GPRIO_PIPE_LOW = 0, GPRIO_PIPE_MEDIUM = 1, GPRIO_PIPE_HIGH = 2 };

enum gprio_class { GPRIO_CLASS_OFFLINE = 0, GPRIO_CLASS_ONLINE = 1 };

enum gprio_pipe_prio gprio_pipe_priority(int prio);

/* Default priority of a class: ROCr maps HSA HIGH to KFD 11 and LOW to 0. */
int gprio_class_default_priority(enum gprio_class c);
/* Class implied by a priority: HIGH pipe is online, everything else offline. */
enum gprio_class gprio_class_of_priority(int prio);
const char *gprio_class_name(enum gprio_class c);
/* 0 and *out set, or -EINVAL for anything but "online"/"offline". */
int gprio_class_parse(const char *s, enum gprio_class *out);
bool gprio_priority_valid(long prio);

#endif
