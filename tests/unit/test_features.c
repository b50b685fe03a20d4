/* test_features.c - the feature probe against independent evidence on this machine: capabilities
 * from capget, the kernel config in /proc/config.gz, and each interface used for real. */
#include "check.h"
#include "core/features.h"
#include "core/pagemap.h"
#include "core/proc.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static bool cap_sys_admin(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    return syscall(SYS_capget, &h, d) == 0 && ((d[0].effective >> CAP_SYS_ADMIN) & 1u);
}

/* -1 unknown, else whether CONFIG_<name>=y in the running kernel's config */
static int config_has(const char *name)
{
    FILE *f = popen("zcat /proc/config.gz 2>/dev/null", "r");
    char line[256], on[96], off[96];
    snprintf(on, sizeof on, "CONFIG_%s=y\n", name);
    snprintf(off, sizeof off, "# CONFIG_%s is not set\n", name);
    int v = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (strcmp(line, on) == 0) v = 1;
        if (strcmp(line, off) == 0) v = 0;
    }
    if (f)
        pclose(f);
    return v;
}

int main(void)
{
    ms_features f;
    ms_features_probe(&f);
    bool admin = cap_sys_admin();
    CHECK(f.pfn_readable == admin);
    /* the kpage files check only their mode (root, 0400): root without CAP_SYS_ADMIN reads them
     * too, though with no frame number of its own they tell it nothing */
    CHECK(f.kpageflags_readable == (access("/proc/kpageflags", R_OK) == 0));
    CHECK(f.kpagecount_readable == (access("/proc/kpagecount", R_OK) == 0));
    CHECK(f.smaps_rollup == (access("/proc/self/smaps_rollup", R_OK) == 0));
    int sd = config_has("MEM_SOFT_DIRTY");
    if (sd >= 0)
        CHECK(f.soft_dirty == (sd == 1));
    else
        CHECK_SKIP("no /proc/config.gz: the soft-dirty probe is not cross-checked with the kernel config");
    /* the idle-page bitmap: there exactly when the kernel is built with it; root opens it */
    int ip = config_has("IDLE_PAGE_TRACKING");
    bool bitmap = access("/sys/kernel/mm/page_idle/bitmap", F_OK) == 0;
    if (!bitmap)
        CHECK(!f.page_idle);
    if (bitmap && geteuid() == 0)
        CHECK(f.page_idle);
    if (ip >= 0)
        CHECK(bitmap == (ip == 1));
    else
        CHECK_SKIP("no /proc/config.gz: the page_idle probe is not cross-checked with the kernel config");

    /* The probes must predict what the real calls do. */
    int dirfd;
    CHECK(ms_dir_open("/proc/self", &dirfd) == MS_OK);
    uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE), here = (uint64_t)(uintptr_t)&f & ~(ps - 1);
    ms_pm_opts o = {MS_PM_SCAN, 4, false};
    ms_pm_summary s;
    ms_err rc = ms_pm_summarize(dirfd, here, here + ps, &o, &s);
    CHECK(f.pagemap_scan ? rc == MS_OK && s.present == 1 : rc == MS_ERR_UNSUPPORTED);
    ms_pm_summary_free(&s);

    /* Whether a read fault maps the zero page, asked two other ways: PAGEMAP_SCAN's PFNZERO
     * category, and the page's own KPF_ZERO_PAGE flag where frames can be seen. */
    unsigned char *p = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p != MAP_FAILED) {
        (void)*(volatile unsigned char *)p;
        if (f.pagemap_scan) {
            CHECK(ms_pm_summarize(dirfd, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + ps, &o, &s) == MS_OK);
            CHECK(s.present == 1 && s.has_zero_page && s.zero_page == (f.read_fault_zero_page ? 1u : 0u));
            ms_pm_summary_free(&s);
        } else {
            CHECK_SKIP("no PAGEMAP_SCAN: read_fault_zero_page not cross-checked against PFNZERO");
        }
        ms_pm_frame fr;
        if (f.pfn_readable && f.kpageflags_readable) {
            CHECK(ms_pm_frames(dirfd, (uint64_t)(uintptr_t)p, 1, &fr) == MS_OK && fr.kflags_known);
            CHECK(((fr.kflags >> 24) & 1) == f.read_fault_zero_page);
        } else {
            CHECK_SKIP("frame numbers or /proc/kpageflags hidden (no CAP_SYS_ADMIN): read_fault_zero_page "
                       "not cross-checked against KPF_ZERO_PAGE");
        }
        munmap(p, (size_t)ps);
    }
    close(dirfd);

    /* A kernel of 6.7 or later has PAGEMAP_SCAN, 6.11 or later PROCMAP_QUERY: a false there would
     * be a probe bug.  Older ones may have either backported, so nothing is asserted for them. */
    struct utsname un;
    unsigned major = 0, minor = 0;
    CHECK(uname(&un) == 0 && sscanf(un.release, "%u.%u", &major, &minor) == 2);
    unsigned version = major * 1000 + minor;
    if (version >= 6007)
        CHECK(f.pagemap_scan);
    else
        CHECK_SKIP("kernel %s is older than 6.7: PAGEMAP_SCAN is optional there", un.release);
    if (version >= 6011)
        CHECK(f.procmap_query);
    else
        CHECK_SKIP("kernel %s is older than 6.11: PROCMAP_QUERY is optional there", un.release);

    if (geteuid() == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
                _exit(100);
            prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
            ms_features u;
            ms_features_probe(&u);
            _exit(!u.pfn_readable && !u.kpageflags_readable && !u.kpagecount_readable &&
                  u.pagemap_scan == f.pagemap_scan && u.procmap_query == f.procmap_query &&
                  u.smaps_rollup && u.read_fault_zero_page == f.read_fault_zero_page && !u.page_idle ? 0 : 1);
        }
        int st = 0;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    printf("features: pfn %d kpageflags %d kpagecount %d scan %d procmap_query %d rollup %d soft_dirty %d "
           "read_fault_zero_page %d page_idle %d\n",
           f.pfn_readable, f.kpageflags_readable, f.kpagecount_readable, f.pagemap_scan, f.procmap_query,
           f.smaps_rollup, f.soft_dirty, f.read_fault_zero_page, f.page_idle);
    return check_done();
}
