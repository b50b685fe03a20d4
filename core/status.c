/* status.c - /proc/<pid>/status: every "Key:\tvalue" line kept in order, plus the few fields the
 * process list and the process page need decoded (identity, state, threads, the Vm and Rss sizes).
 *
 * The same "Key: value" splitter (ms_kv_parse) serves /proc/meminfo, which has the same shape.  kv
 * entries point into the buffer they were parsed from, so a status costs no allocation per line. */
#include "status.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "keyname.h"
#include "num.h"

/* status is ~1.5 KiB; Mems_allowed on a large NUMA machine makes it longer, never near this. */
#define MS_STATUS_MAX ((size_t)1 << 20)

/* Masks printed in hex without a prefix: "0000000000000010" must not read as decimal 10. */
static bool kv_is_hex_key(const char *k, size_t n)
{
    static const char *const hex[] = {
        "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt",
        "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Cpus_allowed", "Mems_allowed",
    };
    for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++)
        if (strlen(hex[i]) == n && memcmp(hex[i], k, n) == 0)
            return true;
    return false;
}

/* Decides is_number/is_bytes for one value: "123" is a number, "123 kB" is 123*1024 bytes,
 * anything else ("S (sleeping)", "0\t0\t0\t0", "0/96365") stays raw only. */
static void kv_value(ms_kv *e)
{
    const char *p = e->raw, *end = e->raw + e->raw_len;
    uint64_t v;
    e->is_number = e->is_bytes = false;
    e->value = 0;
    if (!ms_num_dec(&p, end, &v))
        return;
    /* The kernel never pads a decimal with zeros; a leading zero means a hex mask. */
    if (e->raw[0] == '0' && p - e->raw > 1)
        return;
    if (p == end) {
        if (kv_is_hex_key(e->name, e->name_len))
            return;
        e->is_number = true;
        e->value = v;
        return;
    }
    ms_skip_blank(&p, end);
    if (end - p == 2 && p[0] == 'k' && p[1] == 'B' && v <= UINT64_MAX / 1024) {
        e->is_number = e->is_bytes = true;
        e->value = v * 1024;
    }
}

ms_err ms_kv_parse(const char *text, size_t len, ms_kv **kv, size_t *nkv, size_t *cap)
{
    ms_err rc = MS_OK;
    const char *p = text, *end = text + len;
    *nkv = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (eol == p) {       /* a blank line carries nothing */
            p = eol + 1;
            continue;
        }
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p || (size_t)(colon - p) > UINT32_MAX) {
            rc = MS_ERR_PARSE;
            goto out;
        }
        if (*nkv == *cap && (rc = ms_grow((void **)kv, cap, *nkv + 1, sizeof **kv, 64, 0)) != MS_OK)
            goto out;
        ms_kv *e = &(*kv)[(*nkv)++];
        e->name = p;
        e->name_len = (uint32_t)(colon - p);
        const char *v = colon + 1, *ve = eol;
        ms_skip_blank(&v, ve);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
            ve--;
        if ((size_t)(ve - v) > UINT32_MAX) {
            rc = MS_ERR_PARSE;
            goto out;
        }
        e->raw = v;
        e->raw_len = (uint32_t)(ve - v);
        kv_value(e);
        p = eol + (eol < end);
    }
out:
    return rc;
}

void ms_status_init(ms_status *s)
{
    memset(s, 0, sizeof *s);
    ms_buf_init(&s->buf, MS_STATUS_MAX);
}

void ms_status_free(ms_status *s)
{
    ms_buf_free(&s->buf);
    free(s->kv);
    s->kv = NULL;
    s->nkv = s->kv_cap = 0;
}

static bool key_is(const ms_kv *e, const char *k)
{
    size_t n = strlen(k);
    return e->name_len == n && memcmp(e->name, k, n) == 0;
}

/* A signed int field (Pid, PPid, Tgid): a positive decimal that fits. */
static bool kv_int(const ms_kv *e, int *out)
{
    if (!e->is_number || e->is_bytes || e->value > INT32_MAX)
        return false;
    *out = (int)e->value;
    return true;
}

/* Copies the Name value as the kernel escaped it ("\n" and "\\" are printed as two characters),
 * cut to fit without leaving half an escape sequence at the end. */
static void copy_name(char *dst, size_t cap, const char *src, size_t n)
{
    if (n > cap - 1)
        n = cap - 1;
    size_t bs = 0;
    while (bs < n && src[n - 1 - bs] == '\\')
        bs++;
    if (bs & 1)
        n--;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#define MEM(key, field) {key, #field, offsetof(ms_status, field)}
const ms_status_mem_field ms_status_mem_fields[MS_STATUS_NMEM] = {
    MEM("VmPeak", vm_peak),     MEM("VmSize", vm_size),     MEM("VmLck", vm_lck),
    MEM("VmPin", vm_pin),       MEM("VmHWM", vm_hwm),       MEM("VmRSS", vm_rss),
    MEM("RssAnon", rss_anon),   MEM("RssFile", rss_file),   MEM("RssShmem", rss_shmem),
    MEM("VmData", vm_data),     MEM("VmStk", vm_stk),       MEM("VmExe", vm_exe),
    MEM("VmLib", vm_lib),       MEM("VmPTE", vm_pte),       MEM("VmSwap", vm_swap),
    MEM("HugetlbPages", hugetlb_pages),
};
#undef MEM

uint64_t ms_status_mem(const ms_status *s, size_t i)
{
    return *(const uint64_t *)(const void *)((const char *)s + ms_status_mem_fields[i].off);
}

const char *ms_status_json_name(const char *key, size_t len, char *out, size_t cap)
{
    for (size_t i = 0; i < MS_STATUS_NMEM; i++)
        if (strlen(ms_status_mem_fields[i].key) == len && memcmp(ms_status_mem_fields[i].key, key, len) == 0)
            return ms_keyname_snake(ms_status_mem_fields[i].name, strlen(ms_status_mem_fields[i].name), out, cap);
    return ms_keyname_snake(key, len, out, cap);
}

/* Uid: real, effective, saved, filesystem. */
static ms_err parse_uid(const ms_kv *e, ms_status *s)
{
    const char *p = e->raw, *end = e->raw + e->raw_len;
    uint64_t r, eff;
    if (!ms_num_dec(&p, end, &r) || r > UINT32_MAX)
        return MS_ERR_PARSE;
    ms_skip_blank(&p, end);
    if (!ms_num_dec(&p, end, &eff) || eff > UINT32_MAX)
        return MS_ERR_PARSE;
    s->uid_real = (uint32_t)r;
    s->uid_effective = (uint32_t)eff;
    return MS_OK;
}

ms_err ms_status_parse(ms_status *s)
{
    ms_err rc = MS_OK;
    s->name[0] = '\0';
    s->state = '\0';
    s->pid = s->ppid = s->tgid = 0;
    s->uid_real = s->uid_effective = 0;
    s->threads = 0;
    s->has_mem = false;
    for (size_t i = 0; i < MS_STATUS_NMEM; i++)
        *(uint64_t *)(void *)((char *)s + ms_status_mem_fields[i].off) = 0;

    rc = ms_kv_parse(s->buf.data ? s->buf.data : "", s->buf.len, &s->kv, &s->nkv, &s->kv_cap);
    if (rc != MS_OK)
        goto out;

    for (size_t i = 0; i < s->nkv; i++) {
        const ms_kv *e = &s->kv[i];
        if (e->name_len >= 2 && (e->name[0] == 'V' || e->name[0] == 'R' || e->name[0] == 'H')) {
            for (size_t j = 0; j < MS_STATUS_NMEM; j++) {
                if (!key_is(e, ms_status_mem_fields[j].key))
                    continue;
                if (!e->is_bytes) {
                    rc = MS_ERR_PARSE;
                    goto out;
                }
                *(uint64_t *)(void *)((char *)s + ms_status_mem_fields[j].off) = e->value;
                if (j == MS_STATUS_MEM_VM_SIZE)
                    s->has_mem = true;
                break;
            }
        } else if (key_is(e, "Name")) {
            copy_name(s->name, sizeof s->name, e->raw, e->raw_len);
        } else if (key_is(e, "State")) {
            if (e->raw_len < 1) {
                rc = MS_ERR_PARSE;
                goto out;
            }
            s->state = e->raw[0];
        } else if (key_is(e, "Tgid")) {
            if (!kv_int(e, &s->tgid)) { rc = MS_ERR_PARSE; goto out; }
        } else if (key_is(e, "Pid")) {
            if (!kv_int(e, &s->pid)) { rc = MS_ERR_PARSE; goto out; }
        } else if (key_is(e, "PPid")) {
            if (!kv_int(e, &s->ppid)) { rc = MS_ERR_PARSE; goto out; }
        } else if (key_is(e, "Uid")) {
            rc = parse_uid(e, s);
            if (rc != MS_OK)
                goto out;
        } else if (key_is(e, "Threads")) {
            if (!e->is_number || e->is_bytes || e->value > UINT32_MAX) {
                rc = MS_ERR_PARSE;
                goto out;
            }
            s->threads = (uint32_t)e->value;
        }
    }
    /* Name, State and Pid head every status since 2.6; without them this is not a status file
     * (or it was cut before its first lines, which the kernel never does). */
    if (s->state == '\0' || (s->pid == 0 && s->tgid == 0))
        rc = MS_ERR_PARSE;
out:
    return rc;
}

ms_err ms_status_read(int dirfd, ms_status *s)
{
    ms_err rc = ms_read_file_at(dirfd, "status", &s->buf);
    if (rc != MS_OK)
        return rc;
    return ms_status_parse(s);
}
