// The program `gprio doctor --selftest` starts (built with hipcc): one stream kept busy with
// short kernels until its standard input closes, then a normal exit (the HIP runtime's
// shutdown included, where a debug-enabled process without its debugger's permit would hang).
#include <hip/hip_runtime.h>
#include <poll.h>
#include <stdio.h>

__global__ void spin(unsigned long long cycles)
{
	unsigned long long t0 = clock64();
	while (clock64() - t0 < cycles)
		;
}

int main()
{
	hipStream_t s;
	if (hipStreamCreate(&s) != hipSuccess)
		return 2;
	spin<<<1, 64, 0, s>>>(1000);
	if (hipStreamSynchronize(s) != hipSuccess)
		return 3;
	printf("ready\n");
	fflush(stdout);
	struct pollfd p = {0, POLLIN, 0};
	while (poll(&p, 1, 0) == 0) {
		for (int i = 0; i < 8; i++)
			spin<<<1, 64, 0, s>>>(200000); // about 0.1 ms each
		if (hipStreamSynchronize(s) != hipSuccess)
			return 4;
	}
	return hipStreamDestroy(s) == hipSuccess ? 0 : 5;
}
