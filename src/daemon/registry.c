#include "registry.h"

#include <string.h>

extern const struct gpriod_backend gpriod_backend_nvidia, gpriod_backend_amdkfd;

const struct gpriod_backend *const gpriod_backends[] = {
	&gpriod_backend_nvidia,
	&gpriod_backend_amdkfd,
	NULL,
};

const struct gpriod_backend *gpriod_backend_find(const char *name)
{
	for (int i = 0; name && gpriod_backends[i]; i++)
		if (strcmp(gpriod_backends[i]->name, name) == 0)
			return gpriod_backends[i];
	return NULL;
}
