/* test_translate.c - one address down to its frame, on a live subject: page number and offset,
 * the region from PROCMAP_QUERY and from maps (they must agree field for field), the PFN against
 * a raw pagemap read, the physical address, and addresses in no region. */
#include "check.h"
#include "core/features.h"
#include "core/translate.h"
#include "core/proc.h"
#include "spawn.h"

#include <fcntl.h>

static uint64_t ps;
static ms_features ft;        /* what this kernel does and lets us see */

static uint64_t raw_entry(int pid, uint64_t addr)
{
    char path[64];
    uint64_t e = 0;
    snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || pread(fd, &e, 8, (off_t)(addr / ps * 8)) != 8)
        e = UINT64_MAX;
    if (fd >= 0)
        close(fd);
    return e;
}

/* Why a present page's frame number is hidden: the capability, in the initial user namespace where
 * we hold it only in a container's own. */
static bool hidden_reason_ok(const char *why)
{
    return why && strncmp(why, "pfn hidden: needs CAP_SYS_ADMIN", 31) == 0;
}

static bool same_region(const ms_translation *a, const ms_translation *b)
{
    return a->in_region == b->in_region &&
           (!a->in_region ||
            (a->region.start == b->region.start && a->region.end == b->region.end &&
             a->region.offset == b->region.offset && a->region.inode == b->region.inode &&
             a->region.dev_major == b->region.dev_major && a->region.dev_minor == b->region.dev_minor &&
             strcmp(a->region.perms, b->region.perms) == 0 && a->region.path_len == b->region.path_len &&
             memcmp(a->region.path, b->region.path, a->region.path_len) == 0 &&
             a->region.deleted == b->region.deleted && a->region.kind == b->region.kind));
}

/* Both ways, checked to agree; returns the PROCMAP_QUERY answer in *q. */
static ms_err both(int dirfd, uint64_t addr, ms_translation *q)
{
    static ms_translation m;
    ms_err rq = ms_translate_with(dirfd, addr, MS_TR_AUTO, q);
    ms_err rm = ms_translate_with(dirfd, addr, MS_TR_MAPS, &m);
    CHECK(rq == rm);
    if (rq == MS_OK && rm == MS_OK) {
        /* AUTO falls back to maps only for a read-only file mapping (rodata or not depends on
         * an executable mapping of the same file after it); everything else is PROCMAP_QUERY's. */
        CHECK(!m.region_by_query);
        CHECK(q->region_by_query ||
              (q->in_region && q->region.inode != 0 && q->region.perms[1] != 'w' && q->region.perms[2] != 'x'));
        CHECK(same_region(q, &m));
        CHECK(q->frame.entry == m.frame.entry && q->phys_known == m.phys_known && q->phys_addr == m.phys_addr);
    }
    return rq;
}

int main(void)
{
    ps = (uint64_t)sysconf(_SC_PAGESIZE);
    ms_features_probe(&ft);
    char dir[] = "/tmp/ms-translate-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *args[] = {"--pages", "16", "--write", "4", "--read", "2", "--file-dir", dir, NULL};
    subject s;
    if (spawn_subject(&s, args) != 0) {
        CHECK(!"subject started");
        return check_done();
    }
    int dirfd;
    CHECK(ms_pid_open(s.pid, &dirfd) == MS_OK);
    uint64_t area = subject_addr(&s, "area");
    static ms_translation t;

    /* a written page, 123 bytes in */
    uint64_t a = area + 2 * ps + 123;
    CHECK(both(dirfd, a, &t) == MS_OK);
    CHECK_EQ_U64(t.page_size, ps);
    CHECK_EQ_U64(t.page_number, a / ps);
    CHECK_EQ_U64(t.page_offset, 123);
    CHECK(t.in_region);
    CHECK_EQ_U64(t.region.start, area);
    CHECK_EQ_U64(t.region.end, area + 16 * ps);
    CHECK_STR(t.region.perms, "rw-p");
    CHECK(t.region.path_len == 0);
    CHECK_EQ_U64(t.frame.vaddr, area + 2 * ps);
    uint64_t raw = raw_entry(s.pid, a);
    CHECK_EQ_U64(t.frame.entry, raw);
    if (!ft.pfn_readable) {
        /* frame numbers hidden: no physical address, and the reason instead of a fake 0 */
        CHECK_SKIP("frame numbers hidden (no CAP_SYS_ADMIN): physical addresses and frame flags are "
                   "checked to be unknown, with the reason");
        CHECK(t.frame.present && !t.frame.pfn_known && t.frame.pfn == 0 && (raw & MS_PM_PFN_MASK) == 0);
        CHECK(hidden_reason_ok(t.frame.pfn_hidden_reason));
        CHECK(!t.phys_known && t.phys_addr == 0 && !t.frame.kflags_known);
        CHECK(both(dirfd, area + 5 * ps, &t) == MS_OK);
        CHECK(t.frame.present && !t.frame.pfn_known && !t.phys_known);
        CHECK(t.frame.exclusive == !ft.read_fault_zero_page);
    } else {
        CHECK(t.frame.present && t.frame.pfn_known && t.frame.pfn == (raw & MS_PM_PFN_MASK) && t.frame.pfn != 0);
        CHECK(t.phys_known);
        CHECK_EQ_U64(t.phys_addr, t.frame.pfn * ps + 123);
        CHECK(t.frame.kflags_known && ((t.frame.kflags >> 12) & 1));     /* anon */

        /* a page only read: the zero page's frame, or, on a kernel that allocates a real page on a
         * read fault, a private anon frame of its own */
        CHECK(both(dirfd, area + 5 * ps, &t) == MS_OK);
        CHECK(t.frame.present && t.frame.pfn_known && t.frame.kflags_known);
        if (ft.read_fault_zero_page) {
            CHECK(((t.frame.kflags >> 24) & 1) && !t.frame.exclusive);                  /* zero_page */
        } else {
            CHECK_SKIP("this kernel maps a fresh page on a read fault, not the zero page");
            CHECK(!((t.frame.kflags >> 24) & 1) && ((t.frame.kflags >> 12) & 1) && t.frame.exclusive);
            CHECK_EQ_U64(t.frame.pfn, raw_entry(s.pid, area + 5 * ps) & MS_PM_PFN_MASK);
        }
    }

    /* untouched page of the region: in the region, no frame */
    CHECK(both(dirfd, area + 9 * ps + 1, &t) == MS_OK);
    CHECK(t.in_region && !t.frame.present && !t.frame.pfn_known && !t.phys_known);

    /* in no region at all */
    CHECK(both(dirfd, 0x1000, &t) == MS_OK);
    CHECK(!t.in_region && !t.frame.present && !t.phys_known);
    CHECK_EQ_U64(t.page_number, 1);

    /* above the user address space */
    CHECK(both(dirfd, 0x800000000000ULL, &t) == MS_ERR_RANGE);
    /* the last page below its top, which the kernel never maps (TASK_SIZE is one page less) */
    CHECK(both(dirfd, 0x7ffffffff800ULL, &t) == MS_OK);
    CHECK(!t.in_region && !t.frame.present && t.frame.beyond_top && t.page_offset == 0x800);

    /* file mappings: an awkward name kept exactly, and a deleted file */
    char want[512];
    snprintf(want, sizeof want, "%s/a file with spaces.bin", dir);
    CHECK(both(dirfd, subject_addr(&s, "spaced_file") + ps, &t) == MS_OK);
    CHECK(t.in_region && t.region.path_len == strlen(want) && memcmp(t.region.path, want, strlen(want)) == 0);
    CHECK(!t.region.deleted && t.region.offset == 0 && t.region.inode != 0);
    CHECK_STR(t.region.perms, "r--p");
    CHECK(both(dirfd, subject_addr(&s, "deleted_file"), &t) == MS_OK);
    CHECK(t.in_region && t.region.deleted);
    CHECK(t.region.path_len > 10 && memcmp(t.region.path + t.region.path_len - 10, " (deleted)", 10) == 0);

    /* every region start of the subject: the two ways agree on all of them (text, data, bss,
     * heap, stack, vdso, ...) */
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/maps", s.pid);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long lo, hi;
        if (sscanf(line, "%llx-%llx", &lo, &hi) != 2 || strstr(line, "[vsyscall]"))
            continue;
        CHECK(both(dirfd, lo, &t) == MS_OK && t.in_region && t.region.start == lo && t.region.end == hi);
        n++;
    }
    if (f)
        fclose(f);
    CHECK(n > 10);

    /* default path picks PROCMAP_QUERY on this kernel */
    CHECK(ms_translate(dirfd, a, &t) == MS_OK && t.region_by_query);

    close(dirfd);
    stop_subject(&s);
    snprintf(path, sizeof path, "%s", dir);
    unlink(want);
    rmdir(dir);
    return check_done();
}
