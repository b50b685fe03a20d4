/* test_pagemap_big.c - the issue-5 heap (4 GiB, 1 GiB written, 512 MiB read) summarized by both
 * methods: exact counts from each, identical runs, and the time each takes printed (medians of 5;
 * no timing is asserted: these machines are shared, the benchmark owns the ratios). */
#include "check.h"
#include "core/features.h"
#include "core/pagemap.h"
#include "core/proc.h"
#include "spawn.h"

#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    const char *args[] = {"--heap", "4G", "--heap-write", "1G", "--heap-read", "512M", NULL};
    subject s;
    if (spawn_subject(&s, args) != 0) {
        CHECK(!"subject started");
        return check_done();
    }
    uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t heap = subject_addr(&s, "heap"), size = subject_num(&s, "heap_size");
    /* malloc's own mapping: from the page holding its header to the end of the last page */
    uint64_t start = heap & ~(ps - 1), end = (heap + size + ps - 1) & ~(ps - 1);
    int dirfd;
    CHECK(ms_pid_open(s.pid, &dirfd) == MS_OK);

    /* The 512 MiB only read are the shared zero page where a read fault maps it; on a kernel
     * that allocates a real page instead they are private anon pages like the written ones. */
    ms_features ft;
    ms_features_probe(&ft);
    bool z = ft.read_fault_zero_page;
    uint64_t zeros = z ? (512ULL << 20) / ps : 0;
    if (!z)
        CHECK_SKIP("this kernel maps a fresh page on a read fault, not the zero page: the 512 MiB read "
                   "are checked as exclusive anon pages instead");
    ms_pm_summary r[2];
    double med[2];
    for (int m = 0; m < 2; m++) {
        ms_pm_opts o = {m == 0 ? MS_PM_SCAN : MS_PM_PREAD, 1000, false};
        double t[5];
        for (int i = 0; i < 5; i++) {
            double t0 = now_ms();
            CHECK(ms_pm_summarize(dirfd, start, end, &o, &r[m]) == MS_OK);
            t[i] = now_ms() - t0;
            if (i < 4)
                ms_pm_summary_free(&r[m]);
        }
        qsort(t, 5, sizeof t[0], cmp_d);
        med[m] = t[2];
        printf("4 GiB heap, 1 GiB written, 512 MiB read: %-12s median %8.2f ms (min %.2f, max %.2f)\n",
               m == 0 ? "PAGEMAP_SCAN" : "pread", t[2], t[0], t[4]);
        CHECK_EQ_U64(r[m].pages, (end - start) / ps);
        CHECK_EQ_U64(r[m].present, ((1ULL << 30) + (512ULL << 20)) / ps);
        CHECK_EQ_U64(r[m].zero_page, r[m].has_zero_page ? zeros : 0);
        CHECK_EQ_U64(r[m].huge, 0);
        /* written, read (the zero page, where it is one and can be told), untouched */
        CHECK_EQ_U64(r[m].nruns, z && r[m].has_zero_page ? 3 : 2);
    }
    CHECK_EQ_U64(r[1].exclusive, ((1ULL << 30) + (z ? 0 : 512ULL << 20)) / ps);
    if (r[0].has_zero_page == r[1].has_zero_page || !z) {
        CHECK_EQ_U64(r[0].nruns, r[1].nruns);
        for (size_t i = 0; i < r[0].nruns && i < r[1].nruns; i++)
            CHECK(r[0].runs[i].start == r[1].runs[i].start && r[0].runs[i].end == r[1].runs[i].end &&
                  r[0].runs[i].state == r[1].runs[i].state);
    } else {
        CHECK_SKIP("pread cannot tell the zero page without frame numbers: its runs are not the scan's");
    }
    printf("pread / scan: %.1fx\n", med[1] / med[0]);
    ms_pm_summary_free(&r[0]);
    ms_pm_summary_free(&r[1]);
    close(dirfd);
    stop_subject(&s);
    return check_done();
}
