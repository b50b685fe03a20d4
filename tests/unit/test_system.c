/* test_system.c - /proc/meminfo on a recording and live (MemTotal against sysinfo(2)), the sysfs
 * "[choice]" files, and the machine facts against independent readings. */
#include "check.h"
#include "core/system.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char *fixtures;

static void test_meminfo_fixture(void)
{
    char path[512];
    ms_meminfo m;
    uint64_t v;
    snprintf(path, sizeof path, "%s/meminfo", fixtures);
    ms_meminfo_init(&m);
    CHECK(ms_meminfo_read(path, &m) == MS_OK);
    CHECK_EQ_U64(m.nkv, 54);   /* wc -l meminfo */
    CHECK(m.kv[0].name_len == 8 && memcmp(m.kv[0].name, "MemTotal", 8) == 0);
    CHECK(m.kv[53].name_len == 11 && memcmp(m.kv[53].name, "DirectMap1G", 11) == 0);
    CHECK(ms_meminfo_get(&m, "MemTotal", &v) && v == 24684084ULL * 1024);
    CHECK(ms_meminfo_get(&m, "MemAvailable", &v) && v == 24318616ULL * 1024);
    CHECK(ms_meminfo_get(&m, "Hugepagesize", &v) && v == 2048ULL * 1024);
    CHECK(ms_meminfo_get(&m, "DirectMap1G", &v) && v == 25165824ULL * 1024);
    CHECK(ms_meminfo_get(&m, "HugePages_Total", &v) && v == 0);
    CHECK(!m.kv[45].is_bytes && m.kv[45].is_number);   /* HugePages_Total: a count */
    CHECK(m.kv[45].name_len == 15 && memcmp(m.kv[45].name, "HugePages_Total", 15) == 0);
    CHECK(m.kv[0].is_bytes);
    size_t bytes = 0;
    for (size_t i = 0; i < m.nkv; i++)
        bytes += m.kv[i].is_bytes;
    CHECK_EQ_U64(bytes, 54 - 4);   /* all but HugePages_Total/Free/Rsvd/Surp */
    CHECK(!ms_meminfo_get(&m, "NoSuchField", &v));
    CHECK(!ms_meminfo_get(&m, "MemTota", &v));
    ms_meminfo_free(&m);
}

static void test_meminfo_live(void)
{
    ms_meminfo m;
    struct sysinfo si;
    uint64_t total = 0, v;
    ms_meminfo_init(&m);
    CHECK(ms_meminfo_read(NULL, &m) == MS_OK);
    CHECK(sysinfo(&si) == 0);
    CHECK(ms_meminfo_get(&m, "MemTotal", &total));
    CHECK_EQ_U64(total, (uint64_t)si.totalram * si.mem_unit);
    CHECK(ms_meminfo_get(&m, "SwapTotal", &v));
    CHECK_EQ_U64(v, (uint64_t)si.totalswap * si.mem_unit);
    /* Every line is kept: count them independently. */
    FILE *f = fopen("/proc/meminfo", "r");
    size_t lines = 0;
    int c;
    CHECK(f != NULL);
    while (f && (c = fgetc(f)) != EOF)
        lines += c == '\n';
    if (f)
        fclose(f);
    CHECK_EQ_U64(m.nkv, lines);
    ms_meminfo_free(&m);
}

static void test_sysfs_choice(void)
{
    char path[512], out[32];
    snprintf(path, sizeof path, "%s/thp/enabled", fixtures);
    CHECK(ms_sysfs_choice(path, out, sizeof out) == MS_OK);
    CHECK_STR(out, "madvise");
    snprintf(path, sizeof path, "%s/thp/defrag", fixtures);
    CHECK(ms_sysfs_choice(path, out, sizeof out) == MS_OK);
    CHECK_STR(out, "madvise");
    snprintf(path, sizeof path, "%s/thp/shmem_enabled", fixtures);
    CHECK(ms_sysfs_choice(path, out, sizeof out) == MS_OK);
    CHECK_STR(out, "never");
    CHECK(ms_sysfs_choice(path, out, 5) == MS_ERR_TOOBIG);
    snprintf(path, sizeof path, "%s/thp/hpage_pmd_size", fixtures);
    CHECK(ms_sysfs_choice(path, out, sizeof out) == MS_ERR_PARSE);
    snprintf(path, sizeof path, "%s/thp/no-such-file", fixtures);
    CHECK(ms_sysfs_choice(path, out, sizeof out) == MS_ERR_NOENT);
}

/* An independent reading of a "[choice]" file: the word between brackets via stdio. */
static void bracketed(const char *path, char *out, size_t cap)
{
    char line[256] = "";
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (!f)
        return;
    if (fgets(line, sizeof line, f)) {
        char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
        if (a && b && (size_t)(b - a - 1) < cap) {
            memcpy(out, a + 1, (size_t)(b - a - 1));
            out[b - a - 1] = '\0';
        }
    }
    fclose(f);
}

static long file_long(const char *path)
{
    long v = -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static void test_sysinfo(void)
{
    ms_sysinfo si;
    struct utsname u;
    char want[64];
    CHECK(ms_sysinfo_read(&si) == MS_OK);
    CHECK(uname(&u) == 0);
    CHECK_STR(si.kernel_release, u.release);
    CHECK_STR(si.machine, u.machine);
    CHECK(si.page_size == sysconf(_SC_PAGESIZE));
    bracketed("/sys/kernel/mm/transparent_hugepage/enabled", want, sizeof want);
    CHECK_STR(si.thp_enabled, want);
    bracketed("/sys/kernel/mm/transparent_hugepage/defrag", want, sizeof want);
    CHECK_STR(si.thp_defrag, want);
    bracketed("/sys/kernel/mm/transparent_hugepage/shmem_enabled", want, sizeof want);
    CHECK_STR(si.thp_shmem_enabled, want);
    long pmd = file_long("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    CHECK_EQ_U64(si.hpage_pmd_size, pmd < 0 ? 0 : (uint64_t)pmd);
    CHECK(si.overcommit_memory == file_long("/proc/sys/vm/overcommit_memory"));
    CHECK(si.overcommit_ratio == file_long("/proc/sys/vm/overcommit_ratio"));
    CHECK_EQ_U64(si.overcommit_kbytes, (uint64_t)file_long("/proc/sys/vm/overcommit_kbytes"));
    CHECK(si.overcommit_memory >= 0 && si.overcommit_memory <= 2);

    int local;
    CHECK(si.user_space_top > (uint64_t)(uintptr_t)&local);
    CHECK((si.user_space_top & (si.user_space_top - 1)) == 0);
#if defined(__x86_64__)
    /* Ask for a page above 2^47: only a 5-level-paging kernel grants it, and then the rule must
     * answer 2^56; otherwise the hint is ignored and the answer is 2^47. */
    void *hint = (void *)(uintptr_t)(1ULL << 50);
    void *p = mmap(hint, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    bool high = p != MAP_FAILED && (uintptr_t)p >= (1ULL << 47);
    CHECK_EQ_U64(si.user_space_top, 1ULL << 47);
    ms_sysinfo si2;
    CHECK(ms_sysinfo_read(&si2) == MS_OK);
    CHECK_EQ_U64(si2.user_space_top, high ? 1ULL << 56 : 1ULL << 47);
    if (p != MAP_FAILED)
        munmap(p, 4096);
#endif
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURES\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    test_meminfo_fixture();
    test_meminfo_live();
    test_sysfs_choice();
    test_sysinfo();
    return check_done();
}
