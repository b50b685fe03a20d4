/* test_status.c - /proc/<pid>/status on recorded fixtures (a normal process, kthreadd, a zombie, a
 * process named "ms) (x \y<newline>z)", a truncated file) with exact values, then live: a
 * memscope-subject's RssAnon against smaps_rollup and the pages it wrote, VmRSS against statm and
 * psutil. */
#include "check.h"
#include "core/features.h"
#include "core/proc.h"
#include "core/smaps.h"
#include "core/status.h"
#include "spawn.h"

#include <fcntl.h>
#include <stdlib.h>

static const char *fixtures;

static ms_err load(const char *cas, ms_status *s)
{
    char path[512];
    int fd;
    snprintf(path, sizeof path, "%s/%s", fixtures, cas);
    if (ms_dir_open(path, &fd) != MS_OK)
        return MS_ERR_IO;
    ms_err rc = ms_status_read(fd, s);
    close(fd);
    return rc;
}

static const ms_kv *find(const ms_status *s, const char *key)
{
    for (size_t i = 0; i < s->nkv; i++)
        if (s->kv[i].name_len == strlen(key) && memcmp(s->kv[i].name, key, strlen(key)) == 0)
            return &s->kv[i];
    return NULL;
}

static void test_normal(void)
{
    ms_status s;
    ms_status_init(&s);
    CHECK(load("normal", &s) == MS_OK);
    CHECK_EQ_U64(s.nkv, 59);                       /* wc -l normal/status */
    CHECK(s.kv[0].name_len == 4 && memcmp(s.kv[0].name, "Name", 4) == 0);
    CHECK(s.kv[58].name_len == 26 && memcmp(s.kv[58].name, "nonvoluntary_ctxt_switches", 26) == 0);
    CHECK_STR(s.name, "memscope-subjec");
    CHECK(s.state == 'S');
    CHECK(s.pid == 6827 && s.tgid == 6827 && s.ppid == 6822);
    CHECK(s.uid_real == 0 && s.uid_effective == 0);
    CHECK_EQ_U64(s.threads, 1);
    CHECK(s.has_mem);
    CHECK_EQ_U64(s.vm_peak, 2732 * 1024ULL);
    CHECK_EQ_U64(s.vm_size, 2732 * 1024ULL);
    CHECK_EQ_U64(s.vm_lck, 0);
    CHECK_EQ_U64(s.vm_pin, 0);
    CHECK_EQ_U64(s.vm_hwm, 1700 * 1024ULL);
    CHECK_EQ_U64(s.vm_rss, 1700 * 1024ULL);
    CHECK_EQ_U64(s.rss_anon, 172 * 1024ULL);
    CHECK_EQ_U64(s.rss_file, 1528 * 1024ULL);
    CHECK_EQ_U64(s.rss_shmem, 0);
    CHECK_EQ_U64(s.vm_data, 480 * 1024ULL);
    CHECK_EQ_U64(s.vm_stk, 132 * 1024ULL);
    CHECK_EQ_U64(s.vm_exe, 4 * 1024ULL);
    CHECK_EQ_U64(s.vm_lib, 1528 * 1024ULL);
    CHECK_EQ_U64(s.vm_pte, 48 * 1024ULL);
    CHECK_EQ_U64(s.vm_swap, 0);
    CHECK_EQ_U64(s.hugetlb_pages, 0);
    /* The kernel's own invariant: VmRSS is the sum of its three parts. */
    CHECK_EQ_U64(s.rss_anon + s.rss_file + s.rss_shmem, s.vm_rss);

    const ms_kv *e = find(&s, "VmRSS");
    CHECK(e && e->is_bytes && e->is_number && e->value == 1700 * 1024ULL);
    CHECK(e && e->raw_len == 7 && memcmp(e->raw, "1700 kB", 7) == 0);
    e = find(&s, "Kthread");
    CHECK(e && e->is_number && !e->is_bytes && e->value == 0);
    e = find(&s, "SigCgt");         /* "0000000000004002" is a hex mask, not decimal 4002 */
    CHECK(e && !e->is_number && e->raw_len == 16);
    e = find(&s, "Cpus_allowed");   /* "3" is a hex mask too */
    CHECK(e && !e->is_number);
    e = find(&s, "State");
    CHECK(e && !e->is_number && e->raw_len == 12 && memcmp(e->raw, "S (sleeping)", 12) == 0);
    e = find(&s, "Uid");
    CHECK(e && !e->is_number && e->raw_len == 7);
    e = find(&s, "Groups");         /* printed as "Groups:\t " */
    CHECK(e && e->raw_len == 0 && !e->is_number);
    e = find(&s, "untag_mask");
    CHECK(e && !e->is_number);
    ms_status_free(&s);
}

static void test_kthread_zombie_weird(void)
{
    ms_status s;
    ms_status_init(&s);
    CHECK(load("kthread", &s) == MS_OK);
    CHECK_EQ_U64(s.nkv, 40);
    CHECK_STR(s.name, "kthreadd");
    CHECK(s.pid == 2 && s.ppid == 0 && s.tgid == 2 && s.state == 'S');
    CHECK(!s.has_mem);
    CHECK_EQ_U64(s.vm_size, 0);
    CHECK_EQ_U64(s.vm_rss, 0);
    CHECK_EQ_U64(s.threads, 1);

    /* The same ms_status reused: nothing from kthreadd may leak into the next parse. */
    CHECK(load("weird_comm", &s) == MS_OK);
    CHECK_STR(s.name, "ms) (x \\\\y\\nz)");   /* status escapes '\\' and '\n' */
    CHECK(s.pid == 6839 && s.ppid == 6822 && s.state == 'S');
    CHECK(s.has_mem);
    CHECK_EQ_U64(s.vm_size, 14268 * 1024ULL);
    CHECK_EQ_U64(s.vm_rss, 9544 * 1024ULL);
    CHECK_EQ_U64(s.rss_anon, 3672 * 1024ULL);

    CHECK(load("zombie", &s) == MS_OK);
    CHECK_EQ_U64(s.nkv, 39);
    CHECK(s.state == 'Z');
    CHECK_STR(s.name, "ms) (x \\\\y\\nz)");
    CHECK(s.pid == 6841 && s.ppid == 6839);
    CHECK(!s.has_mem);
    CHECK_EQ_U64(s.vm_rss, 0);
    CHECK_EQ_U64(s.rss_anon, 0);

    CHECK(load("status_truncated", &s) == MS_ERR_PARSE);   /* last line cut before its ':' */
    ms_status_free(&s);
}

static ms_err parse_text(ms_status *s, const char *text)
{
    ms_buf_reset(&s->buf);
    if (ms_buf_append(&s->buf, text, strlen(text)) != MS_OK)
        return MS_ERR_NOMEM;
    return ms_status_parse(s);
}

static void test_synthetic(void)
{
    ms_status s;
    ms_status_init(&s);
    /* A field a future kernel adds is kept; a kB field without kB is malformed. */
    CHECK(parse_text(&s, "Name:\tx\nState:\tR (running)\nPid:\t5\nFutureThing:\t  12 kB\nVmSize:\t8 kB\n") == MS_OK);
    CHECK_EQ_U64(s.nkv, 5);
    CHECK(s.kv[3].is_bytes && s.kv[3].value == 12 * 1024ULL);
    CHECK(s.has_mem && s.vm_size == 8192);
    CHECK(parse_text(&s, "Name:\tx\nState:\tR (running)\nPid:\t5\nVmRSS:\t12\n") == MS_ERR_PARSE);
    CHECK(parse_text(&s, "") == MS_ERR_PARSE);
    CHECK(parse_text(&s, "Name:\tx\nState:\tR\nPid:\t99999999999\n") == MS_ERR_PARSE);
    /* A mask a future kernel adds, printed zero-padded: not read as decimal 10. */
    CHECK(parse_text(&s, "Name:\tx\nState:\tR\nPid:\t5\nNewMask:\t0000000000000010\nZero:\t0\n") == MS_OK);
    CHECK(!s.kv[3].is_number && s.kv[4].is_number && s.kv[4].value == 0);
    /* kB overflow does not wrap: raw only, and a Vm field then fails */
    CHECK(parse_text(&s, "Name:\tx\nState:\tR\nPid:\t5\nBig:\t18014398509481984 kB\n") == MS_OK);
    CHECK(!s.kv[3].is_number);
    /* Name: 62 chars then an escaped "\n": cutting at 63 must not leave a lone backslash. */
    char text[256];
    snprintf(text, sizeof text, "Name:\t%s\\n\nState:\tS\nPid:\t7\n",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    CHECK(parse_text(&s, text) == MS_OK);
    CHECK_EQ_U64(strlen(s.name), 62);
    CHECK(s.name[61] == 'a');
    /* Geometric growth: 1000 lines parse into one array. */
    ms_buf_reset(&s.buf);
    ms_buf_append(&s.buf, "Name:\tx\nState:\tS\nPid:\t1\n", 24);
    for (int i = 0; i < 1000; i++)
        ms_buf_append(&s.buf, "K:\t1\n", 5);
    CHECK(ms_status_parse(&s) == MS_OK);
    CHECK_EQ_U64(s.nkv, 1003);
    CHECK(s.kv_cap >= 1003 && s.kv_cap <= 2048);
    ms_status_free(&s);
}

static void live_read(pid_t pid, ms_status *s)
{
    int fd = -1;
    CHECK(ms_pid_open(pid, &fd) == MS_OK);
    CHECK(ms_status_read(fd, s) == MS_OK);
    close(fd);
}

/* A subject that wrote 100 and only read 50 of its 256 private pages.  Its RssAnon must equal
 * smaps_rollup's Anonymous (the same pages counted by walking the page tables instead of by the
 * mm counters, within their documented imprecision), its mapping's own Rss must be exactly the 100 written pages (the read pages map
 * the shared zero page, which no RSS counts; on a kernel that allocates a real page on a read
 * fault, 150 pages), and RssAnon must hold them.  VmRSS and VmSize agree
 * with statm and psutil.  (Two subjects cannot be compared page-exactly: ASLR moves where the
 * stack's strings fall, which costs a page more or less.) */
static void test_live(void)
{
    subject b = {0};
    const char *ob[] = {"--pages", "256", "--write", "100", "--read", "50", NULL};
    CHECK(spawn_subject(&b, ob) == 0);
    ms_status sb;
    ms_status_init(&sb);
    live_read(b.pid, &sb);
    CHECK(sb.pid == b.pid && sb.tgid == b.pid);
    CHECK(sb.ppid == getpid());
    CHECK_STR(sb.name, "memscope-subjec");   /* comm keeps 15 bytes of "memscope-subject" */
    CHECK(sb.state == 'S' && sb.has_mem);
    CHECK_EQ_U64(sb.rss_anon + sb.rss_file + sb.rss_shmem, sb.vm_rss);
    CHECK(sb.rss_anon >= 100 * 4096ULL);
    CHECK(sb.vm_size >= 256 * 4096ULL);

    char cmd[512], area[32] = "";
    const char *a = strstr(b.line, "\"area\":\"0x");
    if (a)
        snprintf(area, sizeof area, "%.*s", (int)strcspn(a + 10, "\""), a + 10);
    CHECK(area[0] != '\0');
    snprintf(cmd, sizeof cmd, "awk '/^%s-/{f=1} f&&/^Rss:/{print $2; exit}' /proc/%d/smaps", area,
             (int)b.pid);
    ms_features ft;
    ms_features_probe(&ft);
    CHECK_EQ_U64(run_number(cmd), (ft.read_fault_zero_page ? 100 : 150) * 4);
    /* the mm counters are folded per CPU (per task before 6.2) in batches: RssAnon may lag the page
     * walk by up to 64 pages per CPU where they are read without summing ("the value may not be
     * very precise", Documentation/filesystems/proc.rst) */
    snprintf(cmd, sizeof cmd, "awk '/^Anonymous:/{print $2}' /proc/%d/smaps_rollup", (int)b.pid);
    long long walked = (long long)run_number(cmd) * 1024;
    CHECK(llabs(walked - (long long)sb.rss_anon) <= 64LL * 4096 * sysconf(_SC_NPROCESSORS_CONF));
    snprintf(cmd, sizeof cmd, "awk '{print $2}' /proc/%d/statm", (int)b.pid);
    CHECK_EQ_U64(run_number(cmd) * 4096ULL, sb.vm_rss);
    snprintf(cmd, sizeof cmd, "awk '{print $1}' /proc/%d/statm", (int)b.pid);
    CHECK_EQ_U64(run_number(cmd) * 4096ULL, sb.vm_size);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import psutil; print(psutil.Process(%d).memory_info().rss)'",
             (int)b.pid);
    CHECK_EQ_U64(run_number(cmd), sb.vm_rss);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import psutil; print(psutil.Process(%d).memory_info().vms)'",
             (int)b.pid);
    CHECK_EQ_U64(run_number(cmd), sb.vm_size);

    /* Threads and Uid against the process we know best: ourselves. */
    ms_status me;
    ms_status_init(&me);
    live_read(getpid(), &me);
    CHECK(me.uid_real == getuid() && me.uid_effective == geteuid());
    CHECK_EQ_U64(me.threads, 1);
    CHECK(me.state == 'R');
    ms_status_free(&me);

    stop_subject(&b);
    ms_status_free(&sb);
}

/* The one table of memory figures: each key lands in its own field, the lab's indexes name the
 * figures it watches, and status keys keep the API names they have always had. */
static void test_mem_table_and_names(void)
{
    ms_status s;
    ms_status_init(&s);
    CHECK(load("normal", &s) == MS_OK);
    CHECK_STR(ms_status_mem_fields[MS_STATUS_MEM_VM_SIZE].key, "VmSize");
    CHECK_STR(ms_status_mem_fields[MS_STATUS_MEM_VM_RSS].key, "VmRSS");
    for (size_t i = 0; i < MS_STATUS_NMEM; i++) {
        const ms_status_mem_field *m = &ms_status_mem_fields[i];
        const ms_kv *e = find(&s, m->key);
        CHECK(e && e->is_bytes && ms_status_mem(&s, i) == e->value);
        CHECK((i < MS_STATUS_NVMRSS) == (strncmp(m->key, "Vm", 2) == 0 || strncmp(m->key, "Rss", 3) == 0));
    }
    CHECK_EQ_U64(ms_status_mem(&s, MS_STATUS_MEM_VM_RSS), s.vm_rss);
    /* every line's name as the smaps namer gave it (the API's names before status had its own) */
    char a[96], b[96];
    for (size_t i = 0; i < s.nkv; i++)
        CHECK_STR(ms_status_json_name(s.kv[i].name, s.kv[i].name_len, a, sizeof a),
                  ms_smaps_json_name(s.kv[i].name, s.kv[i].name_len, b, sizeof b));
    CHECK_STR(ms_status_json_name("VmHWM", 5, a, sizeof a), "vm_hwm");
    CHECK_STR(ms_status_json_name("VmPTE", 5, a, sizeof a), "vm_pte");
    CHECK_STR(ms_status_json_name("HugetlbPages", 12, a, sizeof a), "hugetlb_pages");
    CHECK_STR(ms_status_json_name("FDSize", 6, a, sizeof a), "fdsize");
    CHECK_STR(ms_status_json_name("VmFuture", 8, a, sizeof a), "vm_future");
    ms_status_free(&s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURES\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    test_normal();
    test_mem_table_and_names();
    test_kthread_zombie_weird();
    test_synthetic();
    test_live();
    return check_done();
}
