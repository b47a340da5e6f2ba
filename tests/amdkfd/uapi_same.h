/* Compile-time checks that gprio's KFD definitions match another header's (kfd_uapi_layout.c:
 * the kernel's; kfd_uapi_patched.c: the patch series'). THEIRS names that header's owner in the
 * messages ("the kernel's"); define it before including this. */
#ifndef GPRIO_UAPI_SAME_H
#define GPRIO_UAPI_SAME_H

#include <stddef.h>

#ifndef THEIRS
#error "define THEIRS (whose header the definitions are checked against) first"
#endif

#define SAME_SIZE(ours, theirs)                                      \
	_Static_assert(sizeof(struct ours) == sizeof(struct theirs), \
		       "size of struct " #ours " differs from " THEIRS " struct " #theirs)
#define SAME_FIELD(ours, of, theirs, tf)                                                           \
	_Static_assert(offsetof(struct ours, of) == offsetof(struct theirs, tf) &&                 \
			       sizeof(((struct ours *)0)->of) == sizeof(((struct theirs *)0)->tf), \
		       #ours "." #of " is not at " THEIRS " " #theirs "." #tf)
#define SAME(ours, theirs) \
	_Static_assert((long long)(ours) == (long long)(theirs), #ours " != " THEIRS " " #theirs)

#endif
