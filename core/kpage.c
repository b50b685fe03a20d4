/* kpage.c - /proc/kpageflags and /proc/kpagecount: what the kernel says about one physical frame.
 *
 * Both files are arrays of 8-byte entries indexed by PFN, readable only with CAP_SYS_ADMIN.  Flag
 * names follow Documentation/admin-guide/mm/pagemap.rst (bits 0-26, the stable ABI) and, above 31,
 * the "kernel hacking assistances" of include/linux/kernel-page-flags.h that tools/mm/page-types.c
 * also prints; those may change between kernels, which is why they are named but never relied on. */
#include "kpage.h"

#include <unistd.h>

static const char *const kpf_names[] = {
    [0] = "locked",       [1] = "error",          [2] = "referenced",   [3] = "uptodate",
    [4] = "dirty",        [5] = "lru",            [6] = "active",       [7] = "slab",
    [8] = "writeback",    [9] = "reclaim",        [10] = "buddy",       [11] = "mmap",
    [12] = "anon",        [13] = "swapcache",     [14] = "swapbacked",  [15] = "compound_head",
    [16] = "compound_tail", [17] = "huge",        [18] = "unevictable", [19] = "hwpoison",
    [20] = "nopage",      [21] = "ksm",           [22] = "thp",         [23] = "offline",
    [24] = "zero_page",   [25] = "idle",          [26] = "pgtable",
    [32] = "reserved",    [33] = "mlocked",       [34] = "mappedtodisk", [35] = "private",
    [36] = "private_2",   [37] = "owner_private", [38] = "arch",        [39] = "uncached",
    [40] = "softdirty",   [41] = "arch_2",        [42] = "arch_3",
};

const char *ms_kpageflag_name(unsigned bit)
{
    if (bit >= sizeof kpf_names / sizeof kpf_names[0])
        return NULL;
    return kpf_names[bit];
}

bool ms_kpage_read(int fd, uint64_t pfn, uint64_t *out)
{
    /* A PFN past the end of memory reads 0 bytes; one that would overflow the offset is refused. */
    if (fd < 0 || pfn > (uint64_t)INT64_MAX / 8)
        return false;
    uint64_t v;
    if (pread(fd, &v, sizeof v, (off_t)(pfn * 8)) != (ssize_t)sizeof v)
        return false;
    *out = v;
    return true;
}
