/*
 * gemm_ref.c - the reference GEMM: the one answer every GEMM kernel must
 * reproduce bit for bit (docs/semantics.md, "GEMM").
 *
 * C[m,n] = alpha * sum_k A[m,k] * B[n,k] + beta * C[m,n], computed as:
 *
 *  1. K is cut into blocks of L = job->kblock (the shorter of the two
 *     operands' K blocks; the longer is a multiple of it, or the whole row).
 *  2. Block dot product d of block kb:
 *     - integer pairs (both operands' elements are integers n * 2^u: E2M1
 *       with u = -1, E2M3 with u = -3, MXINT8 with u = -6, INT8 / INT4 /
 *       UINT4 less their zero point with u = 0): the exact integer sum
 *       D = sum n_a * n_b, then d = (float)D * 2^(u_a + u_b).  Exact in any
 *       order, so VNNI, SDOT and integer tensor cores give the same D;
 *       (float)D rounds to nearest even, and the power of two is exact.
 *     - every other pair: d = 0; for k in increasing order d = fmaf(a, b, d),
 *       with a and b the elements as f32 (exact; zero point applied).
 *  3. acc = 0; for kb in increasing order acc = fmaf(d, s_a * s_b, acc),
 *     with s_a, s_b the f32 block scales of row m of A and row n of B over
 *     that block (1 for an unscaled operand), their product rounded once.
 *  4. t = g * acc with g = (alpha * t_a) * t_b, t_a and t_b the NVFP4
 *     tensor scales (1 for every other format); if beta != 0,
 *     t = fmaf(beta, C[m,n], t).  C is not read when beta == 0.
 *  5. t is rounded once to C's type (nearest even, overflow to Inf); a NaN
 *     is stored as the type's canonical quiet NaN.
 *
 * Every step is a correctly rounded f32 operation on values fixed by the
 * operands, so the result does not depend on M, on tiling, or on threads:
 * an output row is the same bits whatever batch it is computed in.
 */
#include <math.h>
#include "../../../src/internal.h"
#include "../../../src/gemm_operand.h"

static float block_dot_int(const lb_gemm_job *j, size_t m, size_t n, size_t k0, size_t k1)
{
    int64_t d = 0;
    for (size_t k = k0; k < k1; k++)
        d += (int64_t)lb_opnd_int(&j->a, m, k) * lb_opnd_int(&j->b, n, k);
    return ldexpf((float)d, j->a.unit_log2 + j->b.unit_log2);
}

static float block_dot_f32(const lb_gemm_job *j, size_t m, size_t n, size_t k0, size_t k1)
{
    float d = 0.0f;
    for (size_t k = k0; k < k1; k++)
        d = fmaf(lb_opnd_f32(&j->a, m, k), lb_opnd_f32(&j->b, n, k), d);
    return d;
}

static void gemm_ref(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1)
{
    const size_t L = j->kblock;
    for (size_t m = m0; m < m1; m++) {
        for (size_t n = n0; n < n1; n++) {
            float acc = 0.0f;
            for (size_t kb = 0; kb < j->K; kb += L) {
                float d = j->integer ? block_dot_int(j, m, n, kb, kb + L) : block_dot_f32(j, m, n, kb, kb + L);
                float s = lb_opnd_scale(&j->a, m, kb) * lb_opnd_scale(&j->b, n, kb);
                acc = fmaf(d, s, acc);
            }
            lb_gemm_store(j, m, n, acc);
        }
    }
}

static int gemm_ref_covers(const lb_gemm_job *j)
{
    (void)j;
    return 1;
}

const lb_kernel lb_kernel_gemm_ref = {
    .op = LOWBIT_OP_GEMM,
    .backend = LOWBIT_BACKEND_REF,
    .exact = 1,
    .name = "gemm_any_ref",
    .formats = "every pair",
    .gemm_covers = gemm_ref_covers,
    .gemm = gemm_ref,
};
