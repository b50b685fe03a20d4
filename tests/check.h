/* check.h - the smallest test harness that says what failed and where.
 *
 * Each CHECK records a pass or a failure with file:line and the expression; CHECK_EQ_U64 prints both
 * values.  check_done() prints the plain closing line "N passed, N failed" and returns the exit code. */
#ifndef MEMSCOPE_CHECK_H
#define MEMSCOPE_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_pass_, check_fail_;

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
    printf("%d passed, %d failed\n", check_pass_, check_fail_);
    return check_fail_ ? 1 : (check_pass_ ? 0 : 1);   /* a test that checked nothing has failed */
}

#endif
