/* test_vanish.c - readers on a process that has exited but is not yet reaped (a zombie): it has no
 * address space any more, and its pagemap reads 0 bytes while its stat still reads.  That is "no
 * address space" (409), not "out of range" (400): the race tests caught the server saying the
 * latter for processes caught exiting.  A process whose mm went while it still looked alive
 * (fixtures/mm_gone: exiting, not yet a zombie) is "no such process". */
#include "check.h"
#include "core/maps.h"
#include "core/pagemap.h"
#include "core/proc.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *fixtures;

/* pagemap opened while the process lived, read after its mm went (fixtures/mm_gone) */
static void test_mm_gone(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/mm_gone", fixtures);
    int dirfd = -1;
    CHECK(ms_dir_open(path, &dirfd) == MS_OK);
    ms_pm_opts o = {.method = MS_PM_PREAD, .max_runs = 100};
    ms_pm_summary s;
    ms_err rc = ms_pm_summarize(dirfd, 0x7f0000000000ULL, 0x7f0000008000ULL, &o, &s);
    CHECK_EQ_U64(rc, MS_ERR_NOENT);
    if (rc == MS_OK)
        ms_pm_summary_free(&s);
    ms_pm_frame f[8];
    CHECK_EQ_U64(ms_pm_frames(dirfd, 0x7f0000000000ULL, 8, f), MS_ERR_NOENT);
    close(dirfd);
}

int main(int argc, char **argv)
{
    fixtures = argc > 1 ? argv[1] : "tests/fixtures";
    test_mm_gone();
    long ps = sysconf(_SC_PAGESIZE);
    /* an address that was mapped in the child: the range is valid, only the process is gone */
    void *p = mmap(NULL, 8 * (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    uint64_t a = (uint64_t)(uintptr_t)p;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int dirfd = -1;
    CHECK(ms_pid_open(pid, &dirfd) == MS_OK);
    siginfo_t si;
    CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);   /* exited, left a zombie */
    CHECK(ms_pid_alive(dirfd));

    for (int m = 0; m < 2; m++) {
        ms_pm_opts o = {.method = m ? MS_PM_PREAD : MS_PM_SCAN, .max_runs = 100};
        ms_pm_summary s;
        ms_err rc = ms_pm_summarize(dirfd, a, a + 8 * (uint64_t)ps, &o, &s);
        CHECK_EQ_U64(rc, MS_ERR_NOMM);
        if (rc == MS_OK)
            ms_pm_summary_free(&s);
    }
    ms_pm_frame f[8];
    CHECK_EQ_U64(ms_pm_frames(dirfd, a, 8, f), MS_ERR_NOMM);
    /* its maps is empty, not an error: a zombie still exists */
    ms_maps mp;
    ms_maps_init(&mp);
    CHECK(ms_maps_read(dirfd, &mp) == MS_OK && mp.nregions == 0);
    ms_maps_free(&mp);

    /* reaped: now it is gone */
    waitpid(pid, NULL, 0);
    CHECK_EQ_U64(ms_pm_frames(dirfd, a, 8, f), MS_ERR_NOENT);
    close(dirfd);
    munmap(p, 8 * (size_t)ps);
    return check_done();
}
