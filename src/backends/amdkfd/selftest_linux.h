/* gprio doctor --selftest on Linux: build the HIP test program (selftest_app.hip, with hipcc)
 * unless a command is given, start it, and run the self-test (selftest.h) on /dev/kfd.
 * Returns 0 passed, 1 failed, 77 not run (no /dev/kfd, no hipcc), having said why on `out`. */
#ifndef GPRIO_KFD_SELFTEST_LINUX_H
#define GPRIO_KFD_SELFTEST_LINUX_H

#include <stdio.h>

int gprio_selftest_linux(const char *app_cmd, const char *app_src, FILE *out);

#endif
