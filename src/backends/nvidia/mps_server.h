/* gpriod --mps on: one MPS control daemon (nvidia-cuda-mps-control) for the node's GPUs,
 * started with gpriod and stopped with it. Its pipes are in DIR/pipe and its logs in DIR/log;
 * gpriod publishes DIR/pipe in the control segment and `gprio run` points the programs it
 * starts at it (CUDA_MPS_PIPE_DIRECTORY), where the shim gives offline clients the lower MPS
 * client priority. */
#ifndef GPRIO_MPS_SERVER_H
#define GPRIO_MPS_SERVER_H

#include <stddef.h>
#include <stdio.h>

/* Start the control daemon (`nvidia-cuda-mps-control -d`, found on PATH) and wait until its
 * control pipe exists (each step bounded: 5 s). A control pipe left by a daemon that quit is
 * replaced; one whose daemon answers `get_server_list` is refused (-EEXIST). 0, or -errno with
 * `err` naming what failed. */
int gprio_mps_start(const char *dir, char *err, size_t errlen);

/* Ask it to quit (`echo quit | nvidia-cuda-mps-control`) and wait until it no longer answers
 * (each bounded: 10 s); say which on log. */
void gprio_mps_stop(const char *dir, FILE *log);

#endif
