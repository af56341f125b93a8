// gemm_emul.h - what the host emulations of the GPU GEMM kernels share
// (gemm_cuda_host_emul.cu, gemm_hip_mfma_emul.cu): the job of a test case
// as lowbit_gemm_device builds it.  Host code that sees src/internal.h;
// the device tests (which do not) never include it.
#ifndef LOWBIT_TESTS_GPU_GEMM_EMUL_H
#define LOWBIT_TESTS_GPU_GEMM_EMUL_H

#include <stdio.h>

#include <vector>

#include "gemm_cases.h"
#include "internal.h"

namespace gc {

// The validated job of case c with C pointing at out (a copy of c.c0).
inline bool job_of(const Case &c, std::vector<uint8_t> &out, lb_gemm_job *j)
{
    out = c.c0;
    lowbit_status s = lb_gemm_job_init(j, &c.a.q, &c.b.q, c.alpha, c.beta, c.c_type, out.data(), c.ldc, NULL);
    if (s != LOWBIT_OK) {
        fprintf(stderr, "job %s: %s\n", c.p.name.c_str(), lowbit_last_error());
        return false;
    }
    return true;
}

}  // namespace gc

#endif
