/* metrics.c - the error metrics of README.md ("Metrics"), in double.
 * Sums use Neumaier's compensated summation, so the totals are close to
 * exact and any careful reimplementation (NumPy's pairwise sum) agrees to
 * about 1e-15 relative. */
#include <math.h>
#include "sweep.h"

typedef struct {
    double s, c;
} ksum;

static void kadd(ksum *k, double v)
{
    double t = k->s + v;
    if (fabs(k->s) >= fabs(v))
        k->c += (k->s - t) + v;
    else
        k->c += (v - t) + k->s;
    k->s = t;
}

sw_satcodes sw_satcodes_of(lowbit_dtype elem)
{
    sw_satcodes c;
    switch (elem) {
    case LOWBIT_INT8:
        /* symmetric INT8 (and MXINT8) clamp at -127, zero-point groups at
         * -128: both are the end of their range */
        c.lo = -127, c.hi = 127;
        break;
    case LOWBIT_INT4:
        c.lo = -8, c.hi = 7;
        break;
    case LOWBIT_UINT4:
        c.lo = 0, c.hi = 15;
        break;
    default:
        c.hi = lowbit_dtype_max(elem);
        c.lo = -c.hi;
        break;
    }
    return c;
}

void sw_metrics(const float *x, const float *xh, const float *codes, size_t n, sw_satcodes sc, sw_sums *s)
{
    ksum sig = {0, 0}, err = {0, 0};
    double max_abs = 0, max_rel = 0;
    size_t nonfinite = 0, sat = 0, flushed = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i], b = xh[i];
        if (!isfinite(a) || !isfinite(b)) {
            nonfinite++;
            continue;
        }
        /* both are f32: a*a and a-b are exact in double */
        double d = a - b, ad = fabs(d);
        kadd(&sig, a * a);
        kadd(&err, d * d);
        if (ad > max_abs)
            max_abs = ad;
        if (a != 0) {
            double r = ad / fabs(a);
            if (r > max_rel)
                max_rel = r;
            if (b == 0)
                flushed++;
        }
        double c = codes[i];
        if ((c <= sc.lo || c >= sc.hi) && fabs(a) > fabs(b))
            sat++;
    }
    s->n = n;
    s->nonfinite = nonfinite;
    s->saturated = sat;
    s->flushed = flushed;
    s->sig = sig.s + sig.c;
    s->err = err.s + err.c;
    s->max_abs = max_abs;
    s->max_rel = max_rel;
}

void sw_sums_add(sw_sums *acc, const sw_sums *s)
{
    acc->n += s->n;
    acc->nonfinite += s->nonfinite;
    acc->saturated += s->saturated;
    acc->flushed += s->flushed;
    acc->sig += s->sig;
    acc->err += s->err;
    acc->bits += s->bits;
    if (s->max_abs > acc->max_abs)
        acc->max_abs = s->max_abs;
    if (s->max_rel > acc->max_rel)
        acc->max_rel = s->max_rel;
}

/* Nominal storage: element bits, plus per block a scale and (with zero
 * points) one element-wide zero point, plus 32 bits for an f32 tensor
 * scale.  Padding to bytes or rows is not counted. */
double sw_nominal_bits(const lowbit_format *f, size_t rows, size_t cols)
{
    double n = (double)rows * (double)cols;
    double bits = lowbit_dtype_bits(f->elem) * n;
    if (f->scale_type != LOWBIT_DTYPE_COUNT) {
        size_t br = f->block_rows ? f->block_rows : rows, bc = f->block_cols ? f->block_cols : cols;
        double blocks = (double)((rows + br - 1) / (br ? br : 1)) * (double)((cols + bc - 1) / (bc ? bc : 1));
        bits += blocks * lowbit_dtype_bits(f->scale_type);
        if (f->flags & LOWBIT_FMT_ZERO_POINT)
            bits += blocks * lowbit_dtype_bits(f->elem);
        if (f->flags & LOWBIT_FMT_TENSOR_SCALE)
            bits += 32;
    }
    return bits;
}

void sw_derive(const sw_sums *s, sw_metrics_out *m)
{
    size_t used = s->n - s->nonfinite;
    m->bits_per_element = s->n ? s->bits / (double)s->n : NAN;
    if (used == 0) {
        m->sqnr_db = m->mse = m->max_abs_err = m->max_rel_err = NAN;
        m->frac_saturated = m->frac_flushed = NAN;
        return;
    }
    if (s->sig == 0)
        m->sqnr_db = NAN; /* no signal: SQNR undefined (null) */
    else if (s->err == 0)
        m->sqnr_db = INFINITY;
    else
        m->sqnr_db = 10.0 * log10(s->sig / s->err);
    m->mse = s->err / (double)used;
    m->max_abs_err = s->max_abs;
    m->max_rel_err = s->max_rel;
    m->frac_saturated = (double)s->saturated / (double)used;
    m->frac_flushed = (double)s->flushed / (double)used;
}
