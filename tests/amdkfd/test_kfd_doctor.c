/* gprio doctor's AMD verdict on synthetic machines (the probe is I/O; the verdict is pure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/backends/amdkfd/doctor.h"
#include "../../src/backends/amdkfd/kfd_uapi.h"

static struct gprio_kfd_verdict v;
static char buf[2048];

static struct gprio_kfd_probe mi300(void)
{
	struct gprio_kfd_probe p = {.kfd_present = true,
				    .kfd_openable = true,
				    .version_known = true,
				    .major = 1,
				    .minor = 17,
				    .sched_policy = 0,
				    .cwsr_enable = 1,
				    .preempt_timeout_ms = 9000,
				    .root = true,
				    .ptrace_ok = true,
				    .gpus = 8};
	return p;
}

static void no_amd_gpu(void **s)
{
	(void)s;
	struct gprio_kfd_probe p = {0};
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_NO);
	assert_int_equal(v.stage2, GPRIO_STAGE_NO);
	assert_non_null(strstr(v.summary, "no AMD GPU here"));
	assert_non_null(strstr(buf, "no /dev/kfd"));
}

static void stock_kernel_stage1(void **s)
{
	(void)s;
	struct gprio_kfd_probe p = mi300();
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_YES);
	assert_int_equal(v.stage2, GPRIO_STAGE_NO);
	assert_string_equal(v.summary, "stage 1 yes, stage 2 no");
	assert_non_null(strstr(buf, "unmap every user queue"));
	assert_non_null(strstr(buf, "queue_preemption_timeout_ms=9000"));
}

/* Before the 6.12.103 fix KFD refuses a debugger that left ptrace: only the in-process shim. */
static void kernel_detach_rule(void **s)
{
	(void)s;
	struct gprio_kfd_probe p = mi300();
	snprintf(p.kernel, sizeof(p.kernel), "6.12.90-amd64");
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_LIMITED);
	assert_non_null(strstr(buf, "kernel 6.12.90-amd64: KFD refuses a debugger after ptrace"));
	assert_non_null(strstr(buf, "this kernel lacks the detach fix"));
	snprintf(p.kernel, sizeof(p.kernel), "6.12.117");
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_YES);
	assert_non_null(strstr(buf, "kernel 6.12.117: KFD lets gpriod debug"));
	snprintf(p.kernel, sizeof(p.kernel), "6.16.1");
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_YES);
	assert_non_null(strstr(buf, "not known whether"));
}

static void old_kfd_or_no_hws(void **s)
{
	(void)s;
	struct gprio_kfd_probe p = mi300();
	p.minor = 11; /* Debian 12's header level: no DBG_TRAP */
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_NO);
	assert_non_null(strstr(buf, "too old"));
	p = mi300();
	p.sched_policy = 2;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_NO);
	assert_non_null(strstr(buf, "no HWS"));
}

/* Stage 2 is what the patched KFD's module parameter says, not what ioctl 0x7e answers. */
static void stage2_interface(void **s)
{
	(void)s;
	struct gprio_kfd_probe p = mi300();
	p.stage2_version = -1;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage2, GPRIO_STAGE_NO);
	assert_non_null(strstr(buf, "stage 2: the patched KFD (kernel/amdkfd) is not loaded"));
	p.stage2_version = 2;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage2, GPRIO_STAGE_NO);
	assert_non_null(strstr(buf, "speaks interface 2, this gprio 1"));
	p.stage2_version = 1;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_non_null(strstr(buf, "its ioctl did not answer"));
	/* stage 3: what patch 0005's module parameter says, and whether gpriod can drive it */
	p.stage3_version = -1;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_non_null(strstr(buf, "stage 3 (in-kernel monitor, patch 0005): not loaded"));
	p.stage3_version = 1;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_non_null(strstr(buf, p.root ? "stage 3 (in-kernel monitor, patch 0005): available"
					   : "stage 3 (in-kernel monitor, patch 0005): present, "
					     "needs root"));
	p.stage3_version = 3;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_non_null(strstr(buf, "speaks monitor interface 3, this gprio 1"));
}

static void limited_without_privileges(void **s)
{
	(void)s;
	struct gprio_kfd_probe p = mi300();
	p.root = false;
	p.ptrace_ok = false;
	p.stage2_ioctl = true;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_int_equal(v.stage1, GPRIO_STAGE_LIMITED);
	assert_int_equal(v.stage2, GPRIO_STAGE_LIMITED);
	assert_non_null(strstr(buf, "in-process shim only"));
	assert_non_null(strstr(buf, "needs root"));
	p = mi300();
	p.kfd_openable = false;
	p.open_errno = 13;
	gprio_kfd_verdict(&p, &v, buf, sizeof(buf));
	assert_non_null(strstr(buf, "Permission denied"));
}

static void uapi_layout(void **s)
{
	(void)s;
	/* sizes the ioctl numbers encode (facts/kfd.md) */
	assert_int_equal(sizeof(struct gprio_kfd_queue_snapshot), 64);
	assert_int_equal(sizeof(struct gprio_kfd_dbg_suspend), 24);
	assert_int_equal(sizeof(struct gprio_kfd_runtime_enable), 16);
	assert_int_equal(offsetof(struct gprio_kfd_dbg_trap, enable), 8);
	assert_int_equal(GPRIO_KFD_GET_VERSION & 0xff, 0x01);
	assert_int_equal(GPRIO_KFD_DBG_TRAP & 0xff, 0x26);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_amd_gpu),         cmocka_unit_test(stock_kernel_stage1),
		cmocka_unit_test(kernel_detach_rule), cmocka_unit_test(stage2_interface),
		cmocka_unit_test(old_kfd_or_no_hws),  cmocka_unit_test(limited_without_privileges),
		cmocka_unit_test(uapi_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
