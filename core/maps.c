/* maps.c - /proc/<pid>/maps: a cursor parser over the whole file, and the rules that name each region.
 *
 * One line per VMA: "start-end perms offset major:minor inode" then, for a named region, padding
 * spaces and the path, exactly as the kernel printed it (spaces inside, " (deleted)", "[anon:x]").
 * The parser never copies the path: a region points into the buffer it was read into, so a
 * 10,000-region process costs one buffer and one region array.  The header-line parser is shared
 * with smaps.c, whose records start with the same line. */
#include "maps.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "num.h"
#include "proc.h"

void ms_maps_init(ms_maps *m)
{
    ms_buf_init(&m->buf, 0);
    m->regions = NULL;
    m->nregions = 0;
    m->cap = 0;
}

void ms_maps_free(ms_maps *m)
{
    ms_buf_free(&m->buf);
    free(m->regions);
    m->regions = NULL;
    m->nregions = m->cap = 0;
}

ms_err ms_maps_reserve(ms_maps *m, size_t want)
{
    if (want <= m->cap)    /* per region: the common case stays a compare */
        return MS_OK;
    return ms_grow((void **)&m->regions, &m->cap, want, sizeof *m->regions, 64, 0);
}

/* Hex digit value + 1, 0 for any other byte: a table beats a chain of range tests on the ~40 hex
 * digits of every region line (15% of an smaps parse otherwise).  Read-only, so no shared state. */
static const unsigned char hexdig1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The 8 bytes at p as 8 hex digits, when each is 0-9 or a-f (the kernel prints lower case): one
 * step for what a byte at a time took 8 lookups and checks, and addresses are most of a maps line.
 * Each byte is tested against the bounds of the two runs with its high bit as the carry-free flag
 * (bytes are checked to be ASCII first), then the nibbles are folded together pairwise. */
static inline bool hex8(const char *p, uint64_t *out)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t x;
    memcpy(&x, p, 8);
    if (x & high)
        return false;
#define GE(k) ((x + (0x80 - (k)) * ones) & high)      /* byte >= k, for ASCII bytes */
    uint64_t digit = GE('0') & ~GE('9' + 1), lower = GE('a') & ~GE('f' + 1);
#undef GE
    if ((digit | lower) != high)
        return false;
    /* little-endian: byte 0 is the first, most significant digit */
    uint64_t nib = (x & 0x0f0f0f0f0f0f0f0fULL) + (lower >> 7) * 9;
    nib = ((nib & 0x00ff00ff00ff00ffULL) << 4) | ((nib >> 8) & 0x00ff00ff00ff00ffULL);
    nib = ((nib & 0x0000ffff0000ffffULL) << 8) | ((nib >> 16) & 0x0000ffff0000ffffULL);
    *out = ((nib & 0xffff) << 16) | ((nib >> 32) & 0xffff);
    return true;
}

/* As ms_num_hex (false on no digit or on overflow past 64 bits), inlined for speed.  wide: the
 * field has 8 digits or more (addresses and offsets, printed %08lx), taken in one step first; the
 * digits after them, and everything of a field that is not (upper case, a short field), go a digit
 * at a time as before. */
static inline bool hex_at(const char **pp, const char *end, uint64_t *out, bool wide)
{
    const char *p = *pp;
    uint64_t v = 0;
    unsigned d;
    if (p >= end || !hexdig1[(unsigned char)*p])
        return false;
    if (wide && end - p >= 8 && hex8(p, &v))
        p += 8;
    for (; p < end && (d = hexdig1[(unsigned char)*p]) != 0; p++) {
        if (v >> 60)
            return false;
        v = (v << 4) | (d - 1);
    }
    *pp = p;
    *out = v;
    return true;
}

static inline bool hex(const char **pp, const char *end, uint64_t *out)
{
    return hex_at(pp, end, out, false);
}

static inline bool hex_wide(const char **pp, const char *end, uint64_t *out)
{
    return hex_at(pp, end, out, true);
}

static bool is_perm(char c, char yes, char no)
{
    return c == yes || c == no;
}

/* Past the end of the line at p: just after its '\n', or end for an unterminated last line. */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

ms_err ms_maps_parse_line(const char **pp, const char *end, ms_region *r)
{
    const char *p = *pp;
    uint64_t maj, min;

    if (!hex_wide(&p, end, &r->start) || p >= end || *p++ != '-')
        return MS_ERR_PARSE;
    if (!hex_wide(&p, end, &r->end) || p >= end || *p++ != ' ' || r->end < r->start)
        return MS_ERR_PARSE;
    if (end - p < 5 || !is_perm(p[0], 'r', '-') || !is_perm(p[1], 'w', '-') ||
        !is_perm(p[2], 'x', '-') || !is_perm(p[3], 'p', 's') || p[4] != ' ')
        return MS_ERR_PARSE;
    memcpy(r->perms, p, 4);
    r->perms[4] = '\0';
    p += 5;
    if (!hex_wide(&p, end, &r->offset) || p >= end || *p++ != ' ')
        return MS_ERR_PARSE;
    if (!hex(&p, end, &maj) || p >= end || *p++ != ':' || !hex(&p, end, &min) ||
        maj > UINT32_MAX || min > UINT32_MAX || p >= end || *p++ != ' ')
        return MS_ERR_PARSE;
    r->dev_major = (uint32_t)maj;
    r->dev_minor = (uint32_t)min;
    /* The inode is the last fixed field: a file cut right after it cannot be told from a complete
     * anonymous line, and that is accepted (the line is otherwise complete). */
    if (!ms_num_dec(&p, end, &r->inode))
        return MS_ERR_PARSE;
    r->path = p;              /* an empty path still points into the buffer, never NULL */
    r->path_len = 0;
    r->deleted = false;
    if (p < end && *p != '\n') {
        if (*p != ' ')
            return MS_ERR_PARSE;                        /* junk glued to the inode */
        while (p < end && *p == ' ')
            p++;
        const char *e = line_end(p, end);
        r->path = p;
        r->path_len = (size_t)(e - p);
        static const char del[] = " (deleted)";
        r->deleted = r->path_len >= sizeof del - 1 &&
                     memcmp(e - (sizeof del - 1), del, sizeof del - 1) == 0;
        p = e;
    }
    if (p < end)
        p++;                                            /* the '\n' */
    r->kind = MS_KIND_OTHER;
    r->kernel_page_size = 0;
    *pp = p;
    return MS_OK;
}

bool ms_maps_line_range(const char *p, const char *end, uint64_t *start, uint64_t *stop)
{
    return hex(&p, end, start) && p < end && *p++ == '-' && hex(&p, end, stop);
}

ms_err ms_maps_parse(ms_maps *m)
{
    ms_err rc = MS_OK;
    const char *p = m->buf.data, *end = p + m->buf.len;

    m->nregions = 0;
    if (!p)
        goto out;
    /* A maps line is 50-150 bytes: reserve for the likely count once, grow by doubling after. */
    rc = ms_maps_reserve(m, m->buf.len / 64 + 1);
    if (rc != MS_OK)
        goto out;
    while (p < end) {
        if (m->nregions == m->cap && (rc = ms_maps_reserve(m, m->nregions + 1)) != MS_OK)
            goto out;
        rc = ms_maps_parse_line(&p, end, &m->regions[m->nregions]);
        if (rc != MS_OK)
            goto out;
        m->nregions++;
    }
    ms_maps_classify(m->regions, m->nregions);
out:
    if (rc != MS_OK)
        m->nregions = 0;
    return rc;
}

bool ms_maps_torn(const ms_region *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].start >= r[i].end || (i && r[i].start < r[i - 1].end))
            return true;
    return false;
}

size_t ms_maps_drop_torn(ms_region *r, size_t n, void *also, size_t also_size)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].start >= r[i].end || (k && r[i].start < r[k - 1].end))
            continue;
        if (k != i) {
            r[k] = r[i];
            if (also)
                memcpy((char *)also + k * also_size, (const char *)also + i * also_size, also_size);
        }
        k++;
    }
    return k;
}

ms_err ms_maps_read(int dirfd, ms_maps *m)
{
    ms_err rc = MS_OK;
    for (int attempt = 0;; attempt++) {
        rc = ms_read_file_at(dirfd, "maps", &m->buf);
        if (rc != MS_OK)
            goto out;
        /* The kernel ends a read early, at a line boundary, once the process's mm is gone: an empty
         * or short file from a dead process is "it exited", while a kernel thread or zombie that is
         * still there legitimately has no regions. */
        if (ms_read_cut_by_exit(dirfd, m->buf.len > 0)) {
            rc = MS_ERR_NOENT;
            goto out;
        }
        rc = ms_maps_parse(m);
        if (rc == MS_OK)
            for (size_t i = 0; i < m->nregions; i++)
                ms_region_check_deleted(dirfd, &m->regions[i]);
        if (rc != MS_OK || !ms_maps_torn(m->regions, m->nregions))
            goto out;
        if (attempt == MS_MAPS_TORN_RETRIES) {
            m->nregions = ms_maps_drop_torn(m->regions, m->nregions, NULL, 0);
            goto out;
        }
    }
out:
    if (rc != MS_OK)
        m->nregions = 0;
    return rc;
}

void ms_region_check_deleted(int dirfd, ms_region *r)
{
    static const char root[] = "root";
    char path[sizeof root - 1 + PATH_MAX];
    struct stat st;
    if (!r->deleted || r->inode == 0 || r->path_len == 0 || r->path[0] != '/' ||
        r->path_len >= sizeof path - (sizeof root - 1) || memchr(r->path, '\0', r->path_len))
        return;
    memcpy(path, root, sizeof root - 1);
    memcpy(path + sizeof root - 1, r->path, r->path_len);
    path[sizeof root - 1 + r->path_len] = '\0';
    /* The kernel prints the path as seen from the reader's root when the file's mount is reachable
     * from there (a chrooted process in our namespace), else from the root of the file's mount
     * namespace (a container's process): look it up both ways; only the inode match counts. */
    for (int k = 0; k < 2; k++) {
        if (fstatat(k ? AT_FDCWD : dirfd, k ? path + sizeof root - 1 : path, &st, 0) == 0 &&
            (uint64_t)st.st_ino == r->inode && major(st.st_dev) == r->dev_major &&
            minor(st.st_dev) == r->dev_minor) {
            r->deleted = false;
            return;
        }
    }
}

const char *ms_region_kind_name(ms_region_kind k)
{
    static const char *const names[MS_KIND__COUNT] = {
        [MS_KIND_TEXT] = "text", [MS_KIND_RODATA] = "rodata", [MS_KIND_DATA] = "data",
        [MS_KIND_BSS] = "bss", [MS_KIND_HEAP] = "heap", [MS_KIND_STACK] = "stack",
        [MS_KIND_VDSO] = "vdso", [MS_KIND_VVAR] = "vvar", [MS_KIND_VSYSCALL] = "vsyscall",
        [MS_KIND_ANON] = "anon", [MS_KIND_FILE] = "file", [MS_KIND_SHM] = "shm",
        [MS_KIND_GUARD] = "guard", [MS_KIND_HUGETLB] = "hugetlb", [MS_KIND_OTHER] = "other",
    };
    if ((unsigned)k >= MS_KIND__COUNT)
        return "other";
    return names[k];
}

static bool path_is_n(const ms_region *r, const char *s, size_t n)
{
    return r->path_len == n && memcmp(r->path, s, n) == 0;
}

static bool path_starts_n(const ms_region *r, const char *s, size_t n)
{
    return r->path_len >= n && memcmp(r->path, s, n) == 0;
}

static bool path_contains_n(const ms_region *r, const char *s, size_t n)
{
    if (r->path_len < n)
        return false;
    for (size_t i = 0; i + n <= r->path_len; i++)
        if (r->path[i] == s[0] && memcmp(r->path + i, s, n) == 0)
            return true;
    return false;
}

/* Literal arguments only: their length is known at compile time. */
#define path_is(r, lit) path_is_n(r, lit, sizeof lit - 1)
#define path_starts(r, lit) path_starts_n(r, lit, sizeof lit - 1)
#define path_contains(r, lit) path_contains_n(r, lit, sizeof lit - 1)

static bool same_file(const ms_region *a, const ms_region *b)
{
    return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

/* A file mapping that is not itself code is rodata when the same file (dev+inode) is also mapped
 * executable: that is an ELF's read-only segment.  The loader maps an ELF as one reservation, so
 * its segments sit next to each other, at most with anonymous or no-access gaps between them:
 * looking among the neighbours (a bounded walk) finds them and keeps classification O(n). */
static bool file_has_text(const ms_region *r, size_t n, size_t i)
{
    for (int dir = -1; dir <= 1; dir += 2) {
        size_t j = i;
        for (int steps = 0; steps < MS_MAPS_CLASSIFY_REACH; steps++) {
            if (dir < 0 ? j == 0 : j + 1 >= n)
                break;
            j = dir < 0 ? j - 1 : j + 1;
            if (same_file(&r[j], &r[i])) {
                if (r[j].perms[2] == 'x')
                    return true;
            } else if (r[j].path_len != 0) {
                break;        /* another file or a named region: this ELF's mappings end here */
            }
        }
    }
    return false;
}

/* The kind rules, applied in this order (the first that matches wins):
 *   1. [heap] -> heap; [stack] and [stack:<tid>] -> stack; [vdso] -> vdso; [vvar] and [vvar_vclock]
 *      -> vvar; [vsyscall] -> vsyscall.
 *   2. any other "[...]" name the kernel invents ([uprobes], [rollup], ...) -> other, except the
 *      names user space gives anonymous memory with PR_SET_VMA_ANON_NAME: "[anon:<name>]" is
 *      anonymous memory (rules 3, 6, 7 apply to it) and "[anon_shmem:<name>]" -> shm.
 *   3. no access at all ("---p", "---s") -> guard: guard pages, address-space reservations, the
 *      holes the loader leaves between an ELF's segments.
 *   4. hugetlb -> hugetlb.  Being on a hugetlbfs mount is not visible in maps, so: when smaps gave
 *      a KernelPageSize, a region whose KernelPageSize is above the smallest one in the file (the
 *      base page size; THP regions still report the base size) is hugetlb; without smaps, a path
 *      containing "/anon_hugepage" (what MAP_HUGETLB anonymous memory shows) or under
 *      "/dev/hugepages/" (the systemd mount point) is.  A hugetlbfs file mounted elsewhere is then
 *      only recognised through smaps.
 *   5. shared memory -> shm: any MAP_SHARED mapping ('s'), including a shared file mapping and
 *      shared anonymous memory ("/dev/zero (deleted)"); and by name "/dev/shm/...", "/memfd:...",
 *      "/SYSV..." (System V segments), even when mapped private.
 *   6. a file mapping (any other path): executable -> text; writable (private) -> data; read-only
 *      -> rodata if the same file (dev+inode) also has an executable mapping, else file.
 *   7. anonymous (no path, or "[anon:...]"): writable private memory that starts exactly where the
 *      previous region, a data mapping, ends -> bss (the zeroed tail of an ELF's data); any other
 *      -> anon (large mallocs, thread stacks, arenas). */
void ms_maps_classify_one(ms_region *r, size_t n, size_t i, uint64_t base_page)
{
    ms_region *x = &r[i];
    bool named_anon = false;
    /* 1, 2: names in brackets */
    if (x->path_len && x->path[0] == '[') {
        if (path_is(x, "[heap]")) { x->kind = MS_KIND_HEAP; return; }
        if (path_is(x, "[stack]") || path_starts(x, "[stack:")) { x->kind = MS_KIND_STACK; return; }
        if (path_is(x, "[vdso]")) { x->kind = MS_KIND_VDSO; return; }
        if (path_is(x, "[vvar]") || path_is(x, "[vvar_vclock]")) { x->kind = MS_KIND_VVAR; return; }
        if (path_is(x, "[vsyscall]")) { x->kind = MS_KIND_VSYSCALL; return; }
        if (path_starts(x, "[anon_shmem:")) { x->kind = MS_KIND_SHM; return; }
        if (!path_starts(x, "[anon:")) { x->kind = MS_KIND_OTHER; return; }
        named_anon = true;
    }
    /* 3 */
    if (x->perms[0] == '-' && x->perms[1] == '-' && x->perms[2] == '-') {
        x->kind = MS_KIND_GUARD;
        return;
    }
    /* 4 */
    if ((base_page && x->kernel_page_size > base_page) ||
        (!named_anon && (path_contains(x, "/anon_hugepage") || path_starts(x, "/dev/hugepages/")))) {
        x->kind = MS_KIND_HUGETLB;
        return;
    }
    /* 5 */
    if (x->perms[3] == 's' ||
        (!named_anon && (path_starts(x, "/dev/shm/") || path_starts(x, "/memfd:") ||
                         path_starts(x, "/SYSV")))) {
        x->kind = MS_KIND_SHM;
        return;
    }
    /* 6 */
    if (x->path_len && !named_anon) {
        if (x->perms[2] == 'x')
            x->kind = MS_KIND_TEXT;
        else if (x->perms[1] == 'w')
            x->kind = MS_KIND_DATA;
        else
            x->kind = file_has_text(r, n, i) ? MS_KIND_RODATA : MS_KIND_FILE;
        return;
    }
    /* 7 */
    if (x->perms[1] == 'w' && i > 0 && r[i - 1].end == x->start && r[i - 1].kind == MS_KIND_DATA)
        x->kind = MS_KIND_BSS;
    else
        x->kind = MS_KIND_ANON;
}

void ms_maps_classify(ms_region *r, size_t n)
{
    uint64_t base_page = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].kernel_page_size && (!base_page || r[i].kernel_page_size < base_page))
            base_page = r[i].kernel_page_size;
    for (size_t i = 0; i < n; i++)
        ms_maps_classify_one(r, n, i, base_page);
}

long ms_maps_find(const ms_region *r, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr < r[mid].start)
            hi = mid;
        else if (addr >= r[mid].end)
            lo = mid + 1;
        else
            return (long)mid;
    }
    return -1;
}
