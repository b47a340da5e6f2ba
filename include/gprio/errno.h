/* What src/core needs beyond the freestanding C headers, so that it builds in user space, in
 * the freestanding check (GPRIO_FREESTANDING, CI) and inside a kernel module (__KERNEL__):
 * errno values and memset/memcpy as compiler builtins (the kernel provides both symbols). */
#ifndef GPRIO_ERRNO_H
#define GPRIO_ERRNO_H

#if defined(__KERNEL__)
#include <linux/errno.h>
#elif defined(GPRIO_FREESTANDING)
/* Linux's values (include/uapi/asm-generic/errno-base.h, errno.h) */
#define EPERM     1
#define ENOENT    2
#define EINTR     4
#define EEXIST    17
#define EINVAL    22
#define ENOSPC    28
#define ERANGE    34
#define ECANCELED 125
#else
#include <errno.h>
#endif

#define gprio_memset __builtin_memset
#define gprio_memcpy __builtin_memcpy

#endif
