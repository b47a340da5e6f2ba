/* The values of the CUDA driver API the shim relies on without including cuda.h (it is built
 * where no CUDA toolkit is installed, and loads whatever libcuda the machine has). Each is named
 * after its cuda.h counterpart; tests/nvidia/test_cuda_abi.sh compares them with a real
 * cuda.h. Plain integers: no types, so that the check can include both headers. */
#ifndef GPRIO_SHIM_CUDA_ABI_H
#define GPRIO_SHIM_CUDA_ABI_H

#define SHIM_CUDA_ERROR_UNKNOWN         999   /* CUDA_ERROR_UNKNOWN */
#define SHIM_STREAM_LEGACY_ID           0x1   /* CU_STREAM_LEGACY, ((CUstream)0x1) */
#define SHIM_STREAM_PER_THREAD_ID       0x2   /* CU_STREAM_PER_THREAD, ((CUstream)0x2) */
#define SHIM_HOSTALLOC_PORTABLE         0x01u /* CU_MEMHOSTALLOC_PORTABLE */
#define SHIM_HOSTALLOC_DEVICEMAP        0x02u /* CU_MEMHOSTALLOC_DEVICEMAP */
#define SHIM_ATTR_PCI_BUS_ID            33    /* CU_DEVICE_ATTRIBUTE_PCI_BUS_ID */
#define SHIM_ATTR_PCI_DEVICE_ID         34    /* CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID */
#define SHIM_ATTR_PCI_DOMAIN_ID         50    /* CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID */
#define SHIM_EVENT_BLOCKING_SYNC        0x1u  /* CU_EVENT_BLOCKING_SYNC */
#define SHIM_EVENT_DISABLE_TIMING       0x2u  /* CU_EVENT_DISABLE_TIMING */
#define SHIM_CTX_SCHED_BLOCKING_SYNC    0x04u /* CU_CTX_SCHED_BLOCKING_SYNC */
#define SHIM_STREAM_WRITE_VALUE_DEFAULT 0u    /* CU_STREAM_WRITE_VALUE_DEFAULT */

#endif
