/* status.c - status names and the thread-local detail message. */
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"

static _Thread_local char lb_detail[512];

static const char *const lb_status_names[LOWBIT_STATUS_COUNT] = {
    [LOWBIT_OK] = "LOWBIT_OK",
    [LOWBIT_ERR_NULL_POINTER] = "LOWBIT_ERR_NULL_POINTER",
    [LOWBIT_ERR_INVALID_ENUM] = "LOWBIT_ERR_INVALID_ENUM",
    [LOWBIT_ERR_UNSUPPORTED] = "LOWBIT_ERR_UNSUPPORTED",
    [LOWBIT_ERR_SIZE_OVERFLOW] = "LOWBIT_ERR_SIZE_OVERFLOW",
    [LOWBIT_ERR_BLOCK_SHAPE] = "LOWBIT_ERR_BLOCK_SHAPE",
    [LOWBIT_ERR_BAD_STRIDE] = "LOWBIT_ERR_BAD_STRIDE",
    [LOWBIT_ERR_MISALIGNED] = "LOWBIT_ERR_MISALIGNED",
    [LOWBIT_ERR_BUFFER_TOO_SMALL] = "LOWBIT_ERR_BUFFER_TOO_SMALL",
    [LOWBIT_ERR_ALIASING] = "LOWBIT_ERR_ALIASING",
    [LOWBIT_ERR_BACKEND_NOT_BUILT] = "LOWBIT_ERR_BACKEND_NOT_BUILT",
    [LOWBIT_ERR_BACKEND_UNAVAILABLE] = "LOWBIT_ERR_BACKEND_UNAVAILABLE",
    [LOWBIT_ERR_OUT_OF_MEMORY] = "LOWBIT_ERR_OUT_OF_MEMORY",
    [LOWBIT_ERR_INTERNAL] = "LOWBIT_ERR_INTERNAL",
    [LOWBIT_ERR_WRONG_MEMORY] = "LOWBIT_ERR_WRONG_MEMORY",
    [LOWBIT_ERR_DEVICE] = "LOWBIT_ERR_DEVICE",
    [LOWBIT_ERR_SHAPE_MISMATCH] = "LOWBIT_ERR_SHAPE_MISMATCH",
    [LOWBIT_ERR_PACK_MISMATCH] = "LOWBIT_ERR_PACK_MISMATCH",
    [LOWBIT_ERR_OUT_OF_RANGE] = "LOWBIT_ERR_OUT_OF_RANGE",
};

const char *lowbit_status_string(lowbit_status status)
{
    if ((unsigned)status >= LOWBIT_STATUS_COUNT)
        return "LOWBIT_STATUS_UNKNOWN";
    return lb_status_names[status];
}

const char *lowbit_last_error(void)
{
    return lb_detail;
}

lowbit_status lb_fail(lowbit_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lb_detail, sizeof lb_detail, fmt, ap);
    va_end(ap);
    return status;
}

lowbit_status lb_ok(void)
{
    lb_detail[0] = '\0';
    return LOWBIT_OK;
}
