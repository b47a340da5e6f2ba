/* The hold kernel (hold.c), as PTX that the driver compiles for whatever GPU the context is on
 * (sm_70 and later: nanosleep). One thread spins until the host writes a generation >= its own
 * into the flag (host-mapped memory) or its bound in ns has passed since it started
 * (%globaltimer), sleeping 500 ns between reads. It writes the GPU time (%globaltimer, ns) at
 * which it started and ended into its slot (times[0], times[1], host-mapped; the end last,
 * then a system fence). CI compiles it with ptxas for sm_75, sm_80 and sm_90
 * (tests/nvidia/test_hint.sh). */
#ifndef GPRIO_HOLD_PTX_H
#define GPRIO_HOLD_PTX_H

#define GPRIO_HOLD_ENTRY "gprio_hold"

static const char gprio_hold_ptx[] = ".version 6.4\n"
				     ".target sm_70\n"
				     ".address_size 64\n"
				     "\n"
				     ".visible .entry gprio_hold(\n"
				     "\t.param .u64 gprio_hold_flag,\n"
				     "\t.param .u32 gprio_hold_gen,\n"
				     "\t.param .u64 gprio_hold_ns,\n"
				     "\t.param .u64 gprio_hold_times\n"
				     ")\n"
				     "{\n"
				     "\t.reg .pred %p<3>;\n"
				     "\t.reg .b32 %r<4>;\n"
				     "\t.reg .b64 %rd<8>;\n"
				     "\n"
				     "\tld.param.u64 %rd1, [gprio_hold_flag];\n"
				     "\tld.param.u32 %r1, [gprio_hold_gen];\n"
				     "\tld.param.u64 %rd2, [gprio_hold_ns];\n"
				     "\tld.param.u64 %rd6, [gprio_hold_times];\n"
				     "\tcvta.to.global.u64 %rd3, %rd1;\n"
				     "\tcvta.to.global.u64 %rd7, %rd6;\n"
				     "\tmov.u64 %rd4, %globaltimer;\n"
				     "\tst.global.u64 [%rd7], %rd4;\n"
				     "\tmembar.sys;\n"
				     "$L_spin:\n"
				     "\tld.relaxed.sys.global.u32 %r2, [%rd3];\n"
				     "\tsub.s32 %r3, %r2, %r1;\n"
				     "\tsetp.ge.s32 %p1, %r3, 0;\n"
				     "\t@%p1 bra $L_done;\n"
				     "\tmov.u64 %rd5, %globaltimer;\n"
				     "\tsub.s64 %rd5, %rd5, %rd4;\n"
				     "\tsetp.ge.u64 %p2, %rd5, %rd2;\n"
				     "\t@%p2 bra $L_done;\n"
				     "\tnanosleep.u32 500;\n"
				     "\tbra.uni $L_spin;\n"
				     "$L_done:\n"
				     "\tmov.u64 %rd5, %globaltimer;\n"
				     "\tst.global.u64 [%rd7+8], %rd5;\n"
				     "\tmembar.sys;\n"
				     "\tret;\n"
				     "}\n";

#endif
