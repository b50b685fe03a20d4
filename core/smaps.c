/* smaps.c - /proc/<pid>/smaps and smaps_rollup: every "Key: value" line of every region, in order.
 *
 * The answer to /smaps should cost little more than the kernel's own read of the file, so the parser
 * makes one pass with no per-line allocation: regions and fields live in two arrays sized from the
 * file length up front (and doubled if that guess was short), names and raw values point into the
 * read buffer.  The kernel prints the same keys in the same order for every region, so each key is
 * first checked against the key at the same position in the previous region (one memcmp) and only
 * looked up in the table when that guess fails.  Keys this code does not know are kept, with their
 * kernel name, so a newer kernel's field passes through to the API. */
#include "smaps.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyname.h"
#include "num.h"
#include "proc.h"

/* The known keys: kernel name, JSON name, and whether the kernel prints a plain number (the rest
 * are "N kB").  Indexed by ms_smaps_field_id. */
#define K(key, json, number) {key, json, sizeof key - 1, number}
static const struct {
    const char *key;
    const char *json;
    size_t key_len;
    bool number;
} known[MS_SF__COUNT] = {
    [MS_SF_SIZE] = K("Size", "size", false),
    [MS_SF_KERNEL_PAGE_SIZE] = K("KernelPageSize", "kernel_page_size", false),
    [MS_SF_MMU_PAGE_SIZE] = K("MMUPageSize", "mmu_page_size", false),
    [MS_SF_RSS] = K("Rss", "rss", false),
    [MS_SF_PSS] = K("Pss", "pss", false),
    [MS_SF_PSS_DIRTY] = K("Pss_Dirty", "pss_dirty", false),
    [MS_SF_PSS_ANON] = K("Pss_Anon", "pss_anon", false),
    [MS_SF_PSS_FILE] = K("Pss_File", "pss_file", false),
    [MS_SF_PSS_SHMEM] = K("Pss_Shmem", "pss_shmem", false),
    [MS_SF_SHARED_CLEAN] = K("Shared_Clean", "shared_clean", false),
    [MS_SF_SHARED_DIRTY] = K("Shared_Dirty", "shared_dirty", false),
    [MS_SF_PRIVATE_CLEAN] = K("Private_Clean", "private_clean", false),
    [MS_SF_PRIVATE_DIRTY] = K("Private_Dirty", "private_dirty", false),
    [MS_SF_REFERENCED] = K("Referenced", "referenced", false),
    [MS_SF_ANONYMOUS] = K("Anonymous", "anonymous", false),
    [MS_SF_KSM] = K("KSM", "ksm", false),
    [MS_SF_LAZYFREE] = K("LazyFree", "lazyfree", false),
    [MS_SF_ANON_HUGE_PAGES] = K("AnonHugePages", "anon_huge_pages", false),
    [MS_SF_SHMEM_PMD_MAPPED] = K("ShmemPmdMapped", "shmem_pmd_mapped", false),
    [MS_SF_FILE_PMD_MAPPED] = K("FilePmdMapped", "file_pmd_mapped", false),
    [MS_SF_SHARED_HUGETLB] = K("Shared_Hugetlb", "shared_hugetlb", false),
    [MS_SF_PRIVATE_HUGETLB] = K("Private_Hugetlb", "private_hugetlb", false),
    [MS_SF_SWAP] = K("Swap", "swap", false),
    [MS_SF_SWAP_PSS] = K("SwapPss", "swap_pss", false),
    [MS_SF_LOCKED] = K("Locked", "locked", false),
    [MS_SF_THP_ELIGIBLE] = K("THPeligible", "thp_eligible", true),
    [MS_SF_PROTECTION_KEY] = K("ProtectionKey", "protection_key", true),
};
#undef K

/* Summing a page size over regions means nothing, so totals leave these two out. */
static bool summable(int id)
{
    return id >= 0 && id < MS_SF__COUNT && !known[id].number && id != MS_SF_KERNEL_PAGE_SIZE &&
           id != MS_SF_MMU_PAGE_SIZE;
}

static int lookup(const char *name, size_t len)
{
    for (int i = 0; i < MS_SF__COUNT; i++)
        if (known[i].key_len == len && memcmp(known[i].key, name, len) == 0)
            return i;
    return MS_SF_UNKNOWN;
}

ms_smaps_field_id ms_smaps_field_lookup(const char *name, size_t len)
{
    return (ms_smaps_field_id)lookup(name, len);
}

void ms_smaps_init(ms_smaps *s)
{
    ms_maps_init(&s->maps);
    s->extra = NULL;
    s->extra_cap = 0;
    s->fields = NULL;
    s->nfields = s->fields_cap = 0;
}

void ms_smaps_free(ms_smaps *s)
{
    ms_maps_free(&s->maps);
    free(s->extra);
    s->extra = NULL;
    s->extra_cap = 0;
    free(s->fields);
    s->fields = NULL;
    s->nfields = s->fields_cap = 0;
}

/* Room for `want` regions, and their extras beside them (the same capacity). */
static ms_err regions_reserve(ms_smaps *s, size_t want)
{
    ms_maps *m = &s->maps;
    if (want <= m->cap && want <= s->extra_cap)
        return MS_OK;
    ms_err rc = ms_maps_reserve(m, want);
    if (rc != MS_OK)
        return rc;
    ms_smaps_extra *x = realloc(s->extra, m->cap * sizeof *x);
    if (!x)
        return MS_ERR_NOMEM;
    s->extra = x;
    s->extra_cap = m->cap;
    return MS_OK;
}

const ms_smaps_extra *ms_smaps_extra_of(const ms_smaps *s, const ms_region *r)
{
    return &s->extra[r - s->maps.regions];
}

const ms_smaps_field *ms_smaps_fields_of(const ms_smaps *s, const ms_region *r, size_t *n)
{
    const ms_smaps_extra *x = ms_smaps_extra_of(s, r);
    *n = x->field_count;
    return s->fields + x->field_first;
}

static ms_err fields_reserve(ms_smaps *s, size_t want)
{
    if (want <= s->fields_cap)    /* per field: the common case stays a compare */
        return MS_OK;
    return ms_grow((void **)&s->fields, &s->fields_cap, want, sizeof *s->fields, 64, 0);
}

static inline uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* The kernel pads values to a column with up to 20 spaces: skip them a word at a time. */
static const char *skip_spaces(const char *p, const char *end)
{
    static const uint64_t spaces = 0x2020202020202020ULL;
    while (end - p >= 8) {
        uint64_t x = load64(p) ^ spaces;
        if (x) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            p += __builtin_ctzll(x) / 8;        /* the first byte that is not a space */
#endif
            break;
        }
        p += 8;
    }
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* The '\n' ending the line at p, or NULL on an unterminated last line. */
static const char *find_nl(const char *p, const char *end)
{
    return p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
}

/* A region line starts "hex-hex ", a field line "Key:" (keys never start with lowercase hex then
 * '-', and the kernel prints addresses in lowercase). */
static bool is_region_line(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')))
        q++;
    return q > p && q < end && *q == '-';
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MS_SMAPS_FAST 1
/* The line as the kernel prints nearly all of them: the key padded to 16 columns, the value right-
 * aligned in the next 8, then " kB\n" (or "\n" for a plain number): "Rss:                  12 kB\n".
 * When the first 16 bytes equal those of the guessed line (same key, and the guess shows they are
 * all key and padding), the value is decoded from one 8-byte word without a loop: spaces & 0x0f
 * are 0, digits & 0x0f are their value, and the 8 digits are combined with the SWAR multiply of
 * simdjson's parse_eight_digits_unrolled.  Anything else (a wider value, a tab, the last line)
 * returns NULL and takes the general path.  Little-endian only. */
static const char *fast_line(const char *p, const char *end, const ms_smaps_field *guess,
                             ms_smaps_field *f)
{
    static const uint64_t spaces = 0x2020202020202020ULL, hi = 0xf0f0f0f0f0f0f0f0ULL,
                          zeros = 0x3030303030303030ULL, six = 0x0606060606060606ULL,
                          low = 0x0f0f0f0f0f0f0f0fULL;
    if (end - p < 28 || guess->raw < guess->name + 16 || load64(p) != load64(guess->name) ||
        load64(p + 8) != load64(guess->name + 8))
        return NULL;
    uint64_t x = load64(p + 16), nonspace = x ^ spaces;
    if (!nonspace)
        return NULL;
    unsigned k = (unsigned)__builtin_ctzll(nonspace) / 8;     /* leading spaces */
    uint64_t digits = ~0ULL << (8 * k);
    if ((((x & hi) ^ zeros) & digits) || ((((x + six) & hi) ^ zeros) & digits))
        return NULL;                                            /* not all digits after them */
    uint64_t v = x & low;
    v = v * 10 + (v >> 8);
    v = (((v & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32))) +
         (((v >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32)))) >> 32;
    uint32_t unit;
    static const char kb[4] = {' ', 'k', 'B', '\n'};
    uint32_t kb_word;
    memcpy(&unit, p + 24, 4);
    memcpy(&kb_word, kb, 4);
    f->name = p;
    f->name_len = guess->name_len;
    f->id = guess->id;
    f->raw = p + 16 + k;
    if (unit == kb_word) {
        f->raw_len = 8 - k + 3;
        f->is_bytes = f->is_number = true;
        f->value = v << 10;
        return p + 28;
    }
    if (p[24] != '\n')
        return NULL;
    f->raw_len = 8 - k;
    f->is_bytes = false;
    f->is_number = true;
    f->value = v;
    return p + 25;
}
#endif

/* Types the value text [v, e) (already trimmed): "N kB" -> bytes, "N" -> number, else text. */
static ms_err type_value(ms_smaps_field *f, const char *v, const char *e)
{
    const char *q = v;
    uint64_t n;
    f->raw = v;
    f->raw_len = (uint32_t)(e - v);
    f->is_bytes = f->is_number = false;
    f->value = 0;
    if (e - v > UINT32_MAX)
        return MS_ERR_PARSE;
    if (!ms_num_dec(&q, e, &n))
        return MS_OK;                                    /* text */
    if (q == e) {
        f->is_number = true;
        f->value = n;
    } else if (e - q == 3 && memcmp(q, " kB", 3) == 0) {
        if (n > UINT64_MAX >> 10)
            return MS_ERR_PARSE;
        f->is_number = f->is_bytes = true;
        f->value = n << 10;
    }
    return MS_OK;
}

/* Parses the field line at *pp into f (its name is [*pp, colon)); leaves *pp past the line. */
static ms_err parse_value(const char **pp, const char *colon, const char *end, ms_smaps_field *f)
{
    const char *p = skip_spaces(colon + 1, end), *v = p;
    /* The usual shape when fast_line could not be used: up to 19 digits (no overflow), " kB\n". */
    uint64_t n = 0;
    const char *q = p;
    while (q < end && (unsigned)(*q - '0') < 10 && q - p < 19)
        n = n * 10 + (uint64_t)(*q++ - '0');
    uint32_t unit = 0;
    if (end - q >= 4)
        memcpy(&unit, q, 4);
    static const char kb[4] = {' ', 'k', 'B', '\n'};
    uint32_t kb_word;
    memcpy(&kb_word, kb, 4);
    if (q > p && unit == kb_word && n <= UINT64_MAX >> 10) {
        f->raw = v;
        f->raw_len = (uint32_t)(q + 3 - v);
        f->is_bytes = f->is_number = true;
        f->value = n << 10;
        *pp = q + 4;
        return MS_OK;
    }
    const char *e = find_nl(p, end);
    const char *next = e ? e + 1 : end;
    if (!e)
        e = end;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *pp = next;
    return type_value(f, v, e);
}

ms_err ms_smaps_parse_field(const char **pp, const char *end, const ms_smaps_field *guess,
                            ms_smaps_field *f, ms_region *r, ms_smaps_extra *x, bool *stored)
{
    const char *p = *pp, *colon;
    *stored = false;
#ifdef MS_SMAPS_FAST
    const char *next = guess ? fast_line(p, end, guess, f) : NULL;
    if (next) {
        p = next;
        goto check;
    }
#endif
    /* The kernel prints each key padded to 16 columns ("Rss:            "), so comparing the
     * line's first 16 bytes with the guessed line's is a whole-key match (':' included) in
     * two word compares.  The guess lies earlier in the buffer, so both reads are in bounds. */
    if (guess && guess->name_len < 16 && end - p >= 16 && load64(p) == load64(guess->name) &&
        load64(p + 8) == load64(guess->name + 8)) {
        f->id = guess->id;
        colon = p + guess->name_len;
    } else if (guess && (size_t)(end - p) > guess->name_len && p[guess->name_len] == ':' &&
               memcmp(p, guess->name, guess->name_len) == 0) {
        f->id = guess->id;
        colon = p + guess->name_len;
    } else {
        colon = p;
        while (colon < end && *colon != ':' && *colon != '\n' && *colon != ' ')
            colon++;
        if (colon == p || colon == end || *colon != ':')
            return MS_ERR_PARSE;      /* not "Key:": a cut line or junk */
        if (colon - p == 7 && memcmp(p, "VmFlags", 7) == 0) {
            /* Kept on the region, not as a field: the API shows it as a list. */
            const char *v = skip_spaces(colon + 1, end);
            const char *e = find_nl(v, end);
            *pp = e ? e + 1 : end;
            if (!e)
                e = end;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            x->vmflags = v;
            x->vmflags_len = (size_t)(e - v);
            return MS_OK;
        }
        f->id = (int16_t)lookup(p, (size_t)(colon - p));
    }
    f->name = p;
    f->name_len = (uint32_t)(colon - p);
    ms_err rc = parse_value(&p, colon, end, f);
    if (rc != MS_OK)
        return rc;
#ifdef MS_SMAPS_FAST
check:
#endif
    if (f->id != MS_SF_UNKNOWN) {
        /* A known key whose value does not have its documented shape is a cut or garbled line,
         * not a new format: refuse it rather than report a wrong number. */
        if (known[f->id].number ? (!f->is_number || f->is_bytes) : !f->is_bytes)
            return MS_ERR_PARSE;
        if (f->id == MS_SF_KERNEL_PAGE_SIZE)
            r->kernel_page_size = f->value;
    }
    *pp = p;
    *stored = true;
    return MS_OK;
}

bool ms_smaps_is_region_line(const char *p, const char *end)
{
    return (*p < 'A' || *p > 'Z') && is_region_line(p, end);   /* keys start uppercase */
}

ms_err ms_smaps_parse(ms_smaps *s)
{
    ms_err rc = MS_OK;
    ms_maps *m = &s->maps;
    const char *p = m->buf.data, *end = p + m->buf.len;
    size_t cur = 0;                 /* index of the region being filled, valid when m->nregions */
    size_t prev_first = 0, prev_count = 0, k = 0;

    m->nregions = 0;
    s->nfields = 0;
    if (!p)
        goto out;
    /* A region record is ~700 bytes (a 70-byte header and ~24 lines of 28 bytes): size both arrays
     * for the whole file at once rather than regrowing them a dozen times. */
    if ((rc = regions_reserve(s, m->buf.len / 512 + 1)) != MS_OK ||
        (rc = fields_reserve(s, m->buf.len / 26 + 1)) != MS_OK)
        goto out;

    while (p < end) {
        if (ms_smaps_is_region_line(p, end)) {
            if (m->nregions) {
                s->extra[cur].field_count = (uint32_t)(s->nfields - s->extra[cur].field_first);
                prev_first = s->extra[cur].field_first;
                prev_count = s->extra[cur].field_count;
            }
            if ((m->nregions == m->cap || m->nregions == s->extra_cap) &&
                (rc = regions_reserve(s, m->nregions + 1)) != MS_OK)
                goto out;
            cur = m->nregions;
            if ((rc = ms_maps_parse_line(&p, end, &m->regions[cur])) != MS_OK)
                goto out;
            if (s->nfields > UINT32_MAX) {
                rc = MS_ERR_TOOBIG;
                goto out;
            }
            s->extra[cur] = (ms_smaps_extra){.field_first = (uint32_t)s->nfields};
            m->nregions++;
            k = 0;
            continue;
        }
        if (!m->nregions) {           /* a field before any region */
            rc = MS_ERR_PARSE;
            goto out;
        }
        if (s->nfields == s->fields_cap && (rc = fields_reserve(s, s->nfields + 1)) != MS_OK)
            goto out;
        ms_smaps_field *f = &s->fields[s->nfields];
        const ms_smaps_field *guess = k < prev_count ? &s->fields[prev_first + k] : NULL;
        bool stored;
        if ((rc = ms_smaps_parse_field(&p, end, guess, f, &m->regions[cur], &s->extra[cur], &stored)) != MS_OK)
            goto out;
        if (!stored)
            continue;
        s->nfields++;
        k++;
    }
    if (m->nregions)
        s->extra[cur].field_count = (uint32_t)(s->nfields - s->extra[cur].field_first);
    ms_maps_classify(m->regions, m->nregions);
out:
    if (rc != MS_OK) {
        m->nregions = 0;
        s->nfields = 0;
    }
    return rc;
}

/* Reads <dirfd>/name and parses it; a process that is gone after the read is "no such process"
 * (the kernel ends the file early, at a record boundary, once the mm is gone). */
static ms_err read_and_parse(int dirfd, const char *name, ms_smaps *s, bool rollup)
{
    ms_err rc = MS_OK;
    for (int attempt = 0;; attempt++) {
        rc = ms_read_file_at(dirfd, name, &s->maps.buf);
        if (rc == MS_ERR_NOENT && rollup && ms_pid_alive(dirfd)) {
            /* No file at all: smaps_rollup came in Linux 4.14.  A file that refuses to be read
             * (ESRCH): the process has no address space (kernel thread, zombie) or is exiting. */
            rc = faccessat(dirfd, name, F_OK, 0) == 0 ? ms_pid_no_mm_err(dirfd) : MS_ERR_UNSUPPORTED;
            goto out;
        }
        if (rc != MS_OK)
            goto out;
        if (ms_read_cut_by_exit(dirfd, s->maps.buf.len > 0)) {
            rc = MS_ERR_NOENT;
            goto out;
        }
        rc = ms_smaps_parse(s);
        if (rc == MS_OK && !rollup)
            for (size_t i = 0; i < s->maps.nregions; i++)
                ms_region_check_deleted(dirfd, &s->maps.regions[i]);
        /* a torn read (see ms_maps_torn): read again, at last keep the consistent part; a dropped
         * region's fields stay in s->fields, unreferenced */
        if (rc != MS_OK || !ms_maps_torn(s->maps.regions, s->maps.nregions))
            goto out;
        if (attempt == MS_MAPS_TORN_RETRIES) {
            s->maps.nregions = ms_maps_drop_torn(s->maps.regions, s->maps.nregions, s->extra,
                                                 sizeof *s->extra);
            goto out;
        }
    }
out:
    if (rc != MS_OK) {
        s->maps.nregions = 0;
        s->nfields = 0;
    }
    return rc;
}

ms_err ms_smaps_read(int dirfd, ms_smaps *s)
{
    return read_and_parse(dirfd, "smaps", s, false);
}

ms_err ms_smaps_rollup_read(int dirfd, ms_smaps *s)
{
    return read_and_parse(dirfd, "smaps_rollup", s, true);
}

const char *ms_smaps_field_name(ms_smaps_field_id id)
{
    if ((int)id < 0 || id >= MS_SF__COUNT)
        return NULL;
    return known[id].json;
}

const char *ms_smaps_json_name(const char *name, size_t len, char *out, size_t cap)
{
    int id = lookup(name, len);
    if (id == MS_SF_UNKNOWN)
        return ms_keyname_snake(name, len, out, cap);
    const char *j = known[id].json;   /* already snake_case: copied as it is, cut to cap */
    return ms_keyname_snake(j, strlen(j), out, cap);
}

void ms_smaps_totals_add(ms_smaps_totals *t, const ms_smaps_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int id = f[i].id;
        if (summable(id) && f[i].is_bytes) {
            t->v[id] += f[i].value;
            t->seen[id] = true;
        }
    }
}

static void totals_add(const ms_smaps *s, const ms_region *r, ms_smaps_totals *t)
{
    size_t n;
    const ms_smaps_field *f = ms_smaps_fields_of(s, r, &n);
    ms_smaps_totals_add(t, f, n);
}

void ms_smaps_totals_of(const ms_smaps *s, size_t first_region, size_t nregions, ms_smaps_totals *t)
{
    memset(t, 0, sizeof *t);
    const ms_maps *m = &s->maps;
    if (first_region >= m->nregions)
        return;
    if (nregions > m->nregions - first_region)
        nregions = m->nregions - first_region;
    for (size_t i = first_region; i < first_region + nregions; i++)
        totals_add(s, &m->regions[i], t);
}

bool ms_smaps_field_summed(int id)
{
    return summable(id);
}

uint64_t ms_smaps_uss(const ms_smaps_totals *t)
{
    return t->v[MS_SF_PRIVATE_CLEAN] + t->v[MS_SF_PRIVATE_DIRTY] + t->v[MS_SF_PRIVATE_HUGETLB];
}

static uint64_t hash_path(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;      /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    return h;
}

/* The groups so far, and an open-addressing table of group index + 1 (0 = empty) keyed by path,
 * kept at most half full. */
struct ms_smaps_grouper {
    bool copy_paths;
    ms_smaps_group *g;
    size_t n, cap;
    size_t *slot, nslots;
};

ms_err ms_smaps_grouper_new(bool copy_paths, ms_smaps_grouper **out)
{
    ms_smaps_grouper *x = calloc(1, sizeof *x);
    if (!x)
        return MS_ERR_NOMEM;
    x->copy_paths = copy_paths;
    *out = x;
    return MS_OK;
}

static ms_err grouper_rehash(ms_smaps_grouper *x)
{
    size_t nslots = x->nslots ? x->nslots * 2 : 16;
    size_t *slot = calloc(nslots, sizeof *slot);
    if (!slot)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < x->n; i++) {
        size_t h = (size_t)hash_path(x->g[i].path, x->g[i].path_len) & (nslots - 1);
        while (slot[h])
            h = (h + 1) & (nslots - 1);
        slot[h] = i + 1;
    }
    free(x->slot);
    x->slot = slot;
    x->nslots = nslots;
    return MS_OK;
}

ms_err ms_smaps_grouper_add(ms_smaps_grouper *x, const ms_region *r, const ms_smaps_field *f, size_t nf)
{
    if ((x->n + 1) * 2 > x->nslots) {
        ms_err rc = grouper_rehash(x);
        if (rc != MS_OK)
            return rc;
    }
    size_t h = (size_t)hash_path(r->path, r->path_len) & (x->nslots - 1);
    while (x->slot[h] && !(x->g[x->slot[h] - 1].path_len == r->path_len &&
                           memcmp(x->g[x->slot[h] - 1].path, r->path, r->path_len) == 0))
        h = (h + 1) & (x->nslots - 1);
    if (!x->slot[h]) {
        ms_err rc = ms_grow((void **)&x->g, &x->cap, x->n + 1, sizeof *x->g, 16, 0);
        if (rc != MS_OK)
            return rc;
        ms_smaps_group *g = &x->g[x->n];
        memset(g, 0, sizeof *g);
        g->path = r->path;
        g->path_len = r->path_len;
        if (x->copy_paths) {
            char *copy = malloc(r->path_len + 1);
            if (!copy)
                return MS_ERR_NOMEM;
            memcpy(copy, r->path, r->path_len);
            copy[r->path_len] = '\0';
            g->path = copy;
        }
        x->slot[h] = ++x->n;
    }
    ms_smaps_group *g = &x->g[x->slot[h] - 1];
    g->nregions++;
    g->size += r->end - r->start;
    ms_smaps_totals_add(&g->totals, f, nf);
    return MS_OK;
}

const ms_smaps_group *ms_smaps_grouper_groups(const ms_smaps_grouper *x, size_t *n)
{
    *n = x->n;
    return x->g;
}

void ms_smaps_grouper_free(ms_smaps_grouper **px)
{
    ms_smaps_grouper *x = *px;
    if (!x)
        return;
    if (x->copy_paths)
        for (size_t i = 0; i < x->n; i++)
            free((char *)x->g[i].path);
    free(x->g);
    free(x->slot);
    free(x);
    *px = NULL;
}

ms_err ms_smaps_group_by_path(const ms_smaps *s, ms_smaps_group **out, size_t *n)
{
    ms_err rc = MS_OK;
    const ms_maps *m = &s->maps;
    ms_smaps_grouper *x = NULL;

    *out = NULL;
    *n = 0;
    if (!m->nregions)
        goto out;
    if ((rc = ms_smaps_grouper_new(false, &x)) != MS_OK)
        goto out;
    for (size_t i = 0; i < m->nregions; i++) {
        size_t nf;
        const ms_smaps_field *f = ms_smaps_fields_of(s, &m->regions[i], &nf);
        if ((rc = ms_smaps_grouper_add(x, &m->regions[i], f, nf)) != MS_OK)
            goto out;
    }
    /* the paths point into s: hand the array over as it is */
    *out = x->g;
    *n = x->n;
    x->g = NULL;
    x->n = 0;
out:
    ms_smaps_grouper_free(&x);
    return rc;
}
