/* check.h - the smallest test harness that says what failed and where.
 *
 * Each CHECK records a pass or a failure with file:line and the expression; CHECK_EQ_U64 prints both
 * values.  check_done() prints the plain closing line "N passed, N failed" and returns the exit code.
 *
 * A check that cannot apply here (no CAP_SYS_ADMIN, no host process list, no cgroup v2 memory
 * controller) is skipped with CHECK_SKIP("reason", ...): printed as "skipped, because reason" and
 * counted, and a test whose every check was skipped exits 77, which ctest reports as "Skipped"
 * (SKIP_RETURN_CODE), never as passed.  A test that ran some checks and skipped others passes on what it ran and lists the skips. */
#ifndef MEMSCOPE_CHECK_H
#define MEMSCOPE_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_pass_, check_fail_, check_skip_;

#define CHECK_SKIP_RC 77

#define CHECK_SKIP(...) do { \
    check_skip_++; \
    fprintf(stderr, "%s:%d: skipped, because ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); \
} while (0)

#define CHECK(cond) do { \
    if (cond) check_pass_++; \
    else { check_fail_++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_EQ_U64(a, b) do { \
    uint64_t ca_ = (uint64_t)(a), cb_ = (uint64_t)(b); \
    if (ca_ == cb_) check_pass_++; \
    else { check_fail_++; fprintf(stderr, "%s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n", \
                                  __FILE__, __LINE__, #a, #b, ca_, cb_); } \
} while (0)

#define CHECK_STR(a, b) do { \
    const char *ca_ = (a), *cb_ = (b); \
    if (ca_ && cb_ && strcmp(ca_, cb_) == 0) check_pass_++; \
    else { check_fail_++; fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
                                  __FILE__, __LINE__, #a, #b, ca_ ? ca_ : "(null)", cb_ ? cb_ : "(null)"); } \
} while (0)

static inline int check_done(void)
{
    if (check_skip_)
        printf("%d passed, %d failed, %d skipped\n", check_pass_, check_fail_, check_skip_);
    else
        printf("%d passed, %d failed\n", check_pass_, check_fail_);
    if (check_fail_)
        return 1;
    if (check_pass_)
        return 0;
    return check_skip_ ? CHECK_SKIP_RC : 1;   /* a test that checked nothing, and skipped nothing, has failed */
}

#endif
