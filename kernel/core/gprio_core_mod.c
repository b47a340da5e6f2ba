// SPDX-License-Identifier: GPL-2.0 OR MIT
/* gprio's core (src/core: detector, policies, monitor, mechanism law) as a kernel module
 * object: kernel/core-check.sh builds it against the kernel headers with the kernel's own
 * flags, and modpost checks that it needs no symbol the kernel does not export. It is what an
 * in-kernel monitor (stage 3) links; loading it only says which policies it carries.
 */
#include <linux/module.h>
#include <linux/printk.h>

#include "gprio/policy.h"

static int __init gprio_core_init(void)
{
	const struct gprio_policy *p = gprio_policy_find("priority");

	pr_info("gprio core: policy %s\n", p ? gprio_policy_name(p) : "(none)");
	return 0;
}

static void __exit gprio_core_exit(void)
{
}

module_init(gprio_core_init);
module_exit(gprio_core_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("gprio core: priority-inversion detector and policies");
