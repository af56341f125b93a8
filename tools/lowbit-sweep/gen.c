/* gen.c - seeded random tensors.  xoshiro256** seeded by splitmix64, so a
 * (distribution, seed, shape) triple gives the same tensor on every machine
 * (the transforms use only +, *, sqrt and log from libm).
 *
 *   normal     N(0, 1)
 *   laplace    Laplace(0, b = 1/sqrt 2): variance 1, heavier tails
 *   student-t  Student's t with 3 degrees of freedom, and on top of that
 *              each element, with probability 1/1024, multiplied by 32:
 *              the rare huge values of LLM activations ("outliers")
 *   uniform    U(-1, 1)
 */
#include <math.h>
#include <string.h>
#include "sweep.h"

static const char *const gen_names[SW_GEN_COUNT] = {"normal", "laplace", "student-t", "uniform"};

const char *sw_gen_name(sw_gen_kind g)
{
    return (unsigned)g < SW_GEN_COUNT ? gen_names[g] : "?";
}

int sw_gen_from_name(const char *s, sw_gen_kind *g)
{
    for (int i = 0; i < SW_GEN_COUNT; i++)
        if (strcmp(s, gen_names[i]) == 0) {
            *g = (sw_gen_kind)i;
            return 0;
        }
    if (strcmp(s, "student_t") == 0 || strcmp(s, "t") == 0) {
        *g = SW_GEN_STUDENT_T;
        return 0;
    }
    return -1;
}

typedef struct { uint64_t s[4]; } rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in the open interval (0, 1): never 0, so log() is safe. */
static double unit(rng *r)
{
    return ((double)(next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double normal(rng *r)
{
    /* Box-Muller, one value per call (simple beats fast here) */
    double u = unit(r), v = unit(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void sw_gen_fill(sw_gen_kind g, uint64_t seed, float *out, size_t n)
{
    rng r;
    /* mix the distribution in, so normal and laplace of one seed differ */
    uint64_t x = seed ^ ((uint64_t)(g + 1) << 56);
    for (int i = 0; i < 4; i++)
        r.s[i] = splitmix64(&x);
    for (size_t i = 0; i < n; i++) {
        double v;
        switch (g) {
        case SW_GEN_LAPLACE: {
            double u = unit(&r) - 0.5;
            double b = 0.7071067811865476;
            v = u < 0 ? b * log(1.0 + 2.0 * u) : -b * log(1.0 - 2.0 * u);
            break;
        }
        case SW_GEN_STUDENT_T: {
            double z = normal(&r), c = 0;
            for (int k = 0; k < 3; k++) {
                double e = normal(&r);
                c += e * e;
            }
            v = z / sqrt(c / 3.0);
            if ((next(&r) & 1023) == 0)
                v *= 32.0;
            break;
        }
        case SW_GEN_UNIFORM:
            v = 2.0 * unit(&r) - 1.0;
            break;
        case SW_GEN_NORMAL:
        default:
            v = normal(&r);
            break;
        }
        out[i] = (float)v;
    }
}
