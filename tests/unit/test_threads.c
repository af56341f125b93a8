/*
 * test_threads.c - many caller threads at once, each call itself cut across
 * the worker pool: every result must equal the same call made alone on one
 * thread, bit for bit, whatever the backend picks.  Also the thread-count
 * API's own rules.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit.h"

#define CALLERS 6
#define N (3 * 65536 + 77)
#define ROWS 300
#define COLS 1000
#define INPUT (ROWS * COLS > N ? ROWS * COLS : N) /* floats the two calls read */

static float *input;

/* What one caller computes: a stochastic conversion and an MXFP4 quantize. */
typedef struct work {
    uint64_t seed;
    uint8_t fp8[N];
    lowbit_qtensor q;
    lowbit_status status[2];
} work;

static void alloc_q(lowbit_qtensor *q)
{
    lowbit_format f = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_RCEIL);
    cr_assert_eq(lowbit_qtensor_init(q, &f, ROWS, COLS), LOWBIT_OK);
    q->data = malloc(q->data_bytes);
    q->scales = malloc(q->scales_bytes);
    cr_assert(q->data && q->scales);
}

static void do_work(work *w)
{
    lowbit_convert_opts sr = {LOWBIT_ROUND_STOCHASTIC, 1, w->seed, 12345};
    w->status[0] = lowbit_convert(LOWBIT_E4M3, w->fp8, LOWBIT_F32, input, N, &sr);
    w->status[1] = lowbit_quantize(&w->q, LOWBIT_F32, input, COLS, &sr);
}

static void *caller(void *arg)
{
    do_work(arg);
    return NULL;
}

static void fill_input(void)
{
    input = malloc(sizeof(float) * INPUT);
    cr_assert_not_null(input);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < INPUT; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        input[i] = (float)((int64_t)(s >> 11) - (1ll << 52)) / (float)(1ll << 50);
    }
}

Test(threads, many_callers_match_one_thread, .timeout = 120)
{
    fill_input();
    static work alone[CALLERS], together[CALLERS];
    cr_assert_eq(lowbit_set_num_threads(1), LOWBIT_OK);
    for (int c = 0; c < CALLERS; c++) {
        alone[c].seed = together[c].seed = 1000 + (uint64_t)c;
        alloc_q(&alone[c].q);
        alloc_q(&together[c].q);
        do_work(&alone[c]);
        cr_assert_eq(alone[c].status[0], LOWBIT_OK);
        cr_assert_eq(alone[c].status[1], LOWBIT_OK);
    }
    for (int threads = 2; threads <= 8; threads *= 2) {
        cr_assert_eq(lowbit_set_num_threads(threads), LOWBIT_OK);
        cr_assert_eq(lowbit_get_num_threads(), threads);
        pthread_t t[CALLERS];
        for (int c = 0; c < CALLERS; c++) {
            memset(together[c].fp8, 0, N);
            memset(together[c].q.data, 0, together[c].q.data_bytes);
            cr_assert_eq(pthread_create(&t[c], NULL, caller, &together[c]), 0);
        }
        for (int c = 0; c < CALLERS; c++)
            pthread_join(t[c], NULL);
        for (int c = 0; c < CALLERS; c++) {
            cr_expect_eq(together[c].status[0], LOWBIT_OK);
            cr_expect_eq(together[c].status[1], LOWBIT_OK);
            cr_expect_eq(memcmp(alone[c].fp8, together[c].fp8, N), 0,
                         "caller %d, %d pool threads: the stochastic conversion differs", c, threads);
            cr_expect_eq(memcmp(alone[c].q.data, together[c].q.data, alone[c].q.data_bytes), 0,
                         "caller %d, %d pool threads: the MXFP4 codes differ", c, threads);
            cr_expect_eq(memcmp(alone[c].q.scales, together[c].q.scales, alone[c].q.scales_bytes), 0,
                         "caller %d, %d pool threads: the MXFP4 scales differ", c, threads);
        }
        /* different seeds really give different bits: the comparison can fail */
        cr_expect_neq(memcmp(together[0].fp8, together[1].fp8, N), 0);
    }
    lowbit_set_num_threads(0);
}

Test(threads, count_api)
{
    cr_expect_eq(lowbit_set_num_threads(-1), LOWBIT_ERR_UNSUPPORTED);
    cr_expect_eq(lowbit_set_num_threads(257), LOWBIT_ERR_UNSUPPORTED);
    cr_expect(strstr(lowbit_last_error(), "thread count") != NULL, "detail: %s", lowbit_last_error());
    cr_expect_eq(lowbit_set_num_threads(3), LOWBIT_OK);
    cr_expect_eq(lowbit_get_num_threads(), 3);
    cr_expect_eq(lowbit_set_num_threads(0), LOWBIT_OK);
    cr_expect_geq(lowbit_get_num_threads(), 1);
}
