/* MPS: the server runs every client's work in its own context, so there is no per-process TSG
 * to reshape; the client priority (CUDA 11.x+: CUDA_MPS_CLIENT_PRIORITY, 0 normal, 1 below
 * normal) is read by libcuda when the client connects, i.e. after our constructor. */
#include <stdlib.h>

#include "shim.h"

void shim_mps_setup(enum gprio_class k)
{
	const char *dir = getenv("CUDA_MPS_PIPE_DIRECTORY");
	char path[512];
	snprintf(path, sizeof(path), "%s/control", dir && *dir ? dir : "/tmp/nvidia-mps");
	if (access(path, F_OK) != 0)
		return; /* no MPS control daemon: clients run as ordinary contexts */
	g_shim.mps_mech = GPRIO_MECH_MPS;
	if (k == GPRIO_CLASS_OFFLINE && !getenv("CUDA_MPS_CLIENT_PRIORITY")) {
		setenv("CUDA_MPS_CLIENT_PRIORITY", "1", 0);
		SHIM_LOG("MPS present (%s): offline client priority below normal\n", path);
	}
}
