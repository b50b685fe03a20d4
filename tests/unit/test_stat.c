/* test_stat.c - /proc/<pid>/stat and cmdline on recorded fixtures (normal, kthreadd, a comm with
 * ") (", spaces, a backslash and a newline, a zombie, the layout hidden from a non-root reader, cut
 * files) with exact values, and live against the test process itself and a subject. */
#include "check.h"
#include "core/proc.h"
#include "core/stat.h"
#include "core/status.h"
#include "spawn.h"

#include <fcntl.h>

static const char *fixtures;

static ms_err load(const char *cas, const char *file, ms_stat *st)
{
    char path[512];
    ms_buf b;
    snprintf(path, sizeof path, "%s/%s", fixtures, cas);
    ms_buf_init(&b, 0);
    int fd;
    if (ms_dir_open(path, &fd) != MS_OK)
        return MS_ERR_IO;
    ms_err rc = ms_read_file_at(fd, file, &b);
    if (rc == MS_OK)
        rc = ms_stat_parse(b.data, b.len, st);
    close(fd);
    ms_buf_free(&b);
    return rc;
}

static void test_normal(void)
{
    ms_stat st;
    CHECK(load("normal", "stat", &st) == MS_OK);
    CHECK(st.pid == 6827);
    CHECK_STR(st.comm, "memscope-subjec");
    CHECK(st.state == 'S');
    CHECK(st.ppid == 6822 && st.pgrp == 6822 && st.session == 3765);
    CHECK_EQ_U64(st.flags, 4194304);
    CHECK(!ms_stat_is_kthread(&st));
    CHECK_EQ_U64(st.minflt, 143);
    CHECK_EQ_U64(st.majflt, 0);
    CHECK_EQ_U64(st.utime, 0);
    CHECK_EQ_U64(st.stime, 0);
    CHECK(st.num_threads == 1);
    CHECK_EQ_U64(st.starttime, 52768);
    CHECK_EQ_U64(st.vsize, 2797568);
    CHECK_EQ_U64(st.rss_pages, 398);
    CHECK_EQ_U64(st.start_code, 94462466465792ULL);
    CHECK_EQ_U64(st.end_code, 94462466468969ULL);
    CHECK_EQ_U64(st.start_stack, 140722969706800ULL);
    CHECK(st.has_layout && !st.layout_hidden);
    CHECK_EQ_U64(st.start_data, 94462466477520ULL);
    CHECK_EQ_U64(st.end_data, 94462466478280ULL);
    CHECK_EQ_U64(st.start_brk, 94463190540288ULL);
    CHECK_EQ_U64(st.arg_start, 140722969713205ULL);
    CHECK_EQ_U64(st.arg_end, 140722969713265ULL);
    CHECK_EQ_U64(st.env_start, 140722969713265ULL);
    CHECK_EQ_U64(st.env_end, 140722969714651ULL);
    /* Cross-checks inside the recording: vsize is status's VmSize (2732 kB), and the argument
     * area is exactly the 60 bytes of the cmdline file. */
    CHECK_EQ_U64(st.vsize, 2732 * 1024ULL);
    CHECK_EQ_U64(st.arg_end - st.arg_start, 60);
}

static void test_odd_cases(void)
{
    ms_stat st;
    CHECK(load("kthread", "stat", &st) == MS_OK);
    CHECK(st.pid == 2 && st.ppid == 0 && st.state == 'S');
    CHECK_STR(st.comm, "kthreadd");
    CHECK_EQ_U64(st.flags, 2129984);
    CHECK(ms_stat_is_kthread(&st));
    CHECK_EQ_U64(st.vsize, 0);
    CHECK_EQ_U64(st.starttime, 24);
    CHECK(st.has_layout && !st.layout_hidden);
    CHECK_EQ_U64(st.start_code, 0);
    CHECK_EQ_U64(st.env_end, 0);

    CHECK(load("weird_comm", "stat", &st) == MS_OK);
    CHECK(st.pid == 6839);
    CHECK_STR(st.comm, "ms) (x \\y\nz)");   /* raw in stat: one backslash, a real newline */
    CHECK(st.state == 'S' && st.ppid == 6822);
    CHECK_EQ_U64(st.minflt, 1240);
    CHECK_EQ_U64(st.majflt, 6);
    CHECK_EQ_U64(st.utime, 1);
    CHECK_EQ_U64(st.vsize, 14268 * 1024ULL);
    CHECK_EQ_U64(st.start_code, 4321280);
    CHECK_EQ_U64(st.env_end, 140735555489767ULL);
    CHECK(st.has_layout);

    CHECK(load("zombie", "stat", &st) == MS_OK);
    CHECK(st.pid == 6841 && st.ppid == 6839 && st.state == 'Z');
    CHECK_STR(st.comm, "ms) (x \\y\nz)");
    CHECK(!ms_stat_is_kthread(&st));
    CHECK_EQ_U64(st.vsize, 0);
    CHECK_EQ_U64(st.minflt, 65);

    /* The normal subject's stat as read by user nobody: no ptrace access, layout hidden. */
    CHECK(load("stat_hidden", "stat", &st) == MS_OK);
    CHECK(st.pid == 6827 && st.layout_hidden && st.has_layout);
    CHECK_EQ_U64(st.start_code, 0);
    CHECK_EQ_U64(st.end_code, 0);
    CHECK_EQ_U64(st.start_stack, 0);
    CHECK_EQ_U64(st.start_brk, 0);
    CHECK_EQ_U64(st.vsize, 2797568);     /* not hidden */
    CHECK_EQ_U64(st.minflt, 143);

    CHECK(load("stat_truncated", "stat_short", &st) == MS_ERR_PARSE);
    CHECK(load("stat_truncated", "stat_nocomm", &st) == MS_ERR_PARSE);
    CHECK(load("stat_truncated", "stat_nolayout", &st) == MS_OK);   /* a pre-3.5 kernel's line */
    CHECK(!st.has_layout);
    CHECK_EQ_U64(st.start_stack, 140722969706800ULL);
    CHECK_EQ_U64(st.start_data, 0);

    const char *bad[] = {"", "x", "12 (a", "0 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0 0 0 0",
                         "12 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0 0 0 X", "12 (a)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(ms_stat_parse(bad[i], strlen(bad[i]), &st) == MS_ERR_PARSE);
    /* A length that stops inside the text: nothing past it is read. */
    const char *full = "12 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0 0 0 0 9";
    CHECK(ms_stat_parse(full, strlen(full) - 2, &st) == MS_OK && st.start_stack == 0);
    CHECK(ms_stat_parse(full, strlen(full), &st) == MS_OK && st.start_stack == 0);
}

static ms_err cmdline_of(const char *cas, char *out, size_t cap, bool *trunc)
{
    char path[512];
    int fd;
    snprintf(path, sizeof path, "%s/%s", fixtures, cas);
    if (ms_dir_open(path, &fd) != MS_OK)
        return MS_ERR_IO;
    ms_err rc = ms_cmdline_read(fd, out, cap, trunc);
    close(fd);
    return rc;
}

static void test_cmdline(void)
{
    char out[128];
    bool tr = true;
    CHECK(cmdline_of("normal", out, sizeof out, &tr) == MS_OK && !tr);
    CHECK_STR(out, "build/tests/memscope-subject --pages 64 --write 16 --read 8");
    CHECK(cmdline_of("normal", out, 10, &tr) == MS_OK && tr);
    CHECK_STR(out, "build/tes");
    /* Exactly the text without its final NUL fits: not truncated. */
    CHECK(cmdline_of("normal", out, 60, &tr) == MS_OK && !tr);
    CHECK_EQ_U64(strlen(out), 59);
    CHECK(cmdline_of("normal", out, 59, &tr) == MS_OK && tr);
    CHECK(cmdline_of("kthread", out, sizeof out, &tr) == MS_OK && !tr);
    CHECK_STR(out, "");
    CHECK(cmdline_of("zombie", out, sizeof out, &tr) == MS_OK);
    CHECK_STR(out, "");
    CHECK(cmdline_of("weird_comm", out, sizeof out, &tr) == MS_OK);
    CHECK_STR(out, "/usr/bin/python3 -");
    CHECK(cmdline_of("stat_hidden", out, sizeof out, &tr) == MS_ERR_NOENT);
}

static void test_live(void)
{
    ms_stat st;
    int fd;
    CHECK(ms_pid_open(getpid(), &fd) == MS_OK);
    CHECK(ms_stat_read(fd, &st) == MS_OK);
    close(fd);
    CHECK(st.pid == getpid() && st.ppid == getppid() && st.state == 'R');
    CHECK(st.pgrp == getpgrp() && st.session == getsid(0));
    CHECK(!ms_stat_is_kthread(&st) && st.has_layout && !st.layout_hidden);
    char comm[64] = "";
    FILE *f = fopen("/proc/self/comm", "r");
    CHECK(f && fgets(comm, sizeof comm, f));
    if (f)
        fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    CHECK_STR(st.comm, comm);
    /* The layout pointers bracket things we can point at. */
    extern char **environ;
    CHECK((uint64_t)(uintptr_t)environ[0] >= st.env_start && (uint64_t)(uintptr_t)environ[0] < st.env_end);
    CHECK((uint64_t)(uintptr_t)&test_live >= st.start_code && (uint64_t)(uintptr_t)&test_live < st.end_code);

    subject s = {0};
    const char *opts[] = {"--pages", "8", "--write", "8", NULL};
    CHECK(spawn_subject(&s, opts) == 0);
    CHECK(ms_pid_open(s.pid, &fd) == MS_OK);
    CHECK(ms_stat_read(fd, &st) == MS_OK);
    char cl[512];
    bool tr;
    CHECK(ms_cmdline_read(fd, cl, sizeof cl, &tr) == MS_OK && !tr);
    char want[512];
    snprintf(want, sizeof want, "%s --pages 8 --write 8", getenv("MEMSCOPE_SUBJECT"));
    CHECK_STR(cl, want);
    CHECK(st.pid == s.pid && st.ppid == getpid());
    CHECK_STR(st.comm, "memscope-subjec");
    CHECK_EQ_U64(st.arg_end - st.arg_start, strlen(want) + 1);
    /* Once reaped, the still-open directory answers "no such process". */
    stop_subject(&s);
    CHECK(ms_stat_read(fd, &st) == MS_ERR_NOENT);
    CHECK(ms_cmdline_read(fd, cl, sizeof cl, &tr) == MS_ERR_NOENT);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURES\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    test_normal();
    test_odd_cases();
    test_cmdline();
    test_live();
    return check_done();
}
