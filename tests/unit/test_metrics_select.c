/* test_metrics_select.c - /metrics' group-name templates and match patterns, on made-up processes:
 * each field and range renders as documented, a name is cut at 128 bytes without splitting a
 * character, an empty rendering falls back to the comm, and bad templates and regexes are refused
 * with a reason. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "metrics_select.h"

static void render(const char *tpl, const char *comm, const char *cmdline, const char *exe, const char *want)
{
    metrics_tpl t;
    char why[256], out[METRICS_NAME_MAX + 1];
    ms_procinfo p = {.pid = 42};
    snprintf(p.name, sizeof p.name, "%s", comm);
    p.cmdline = (char *)cmdline;
    CHECK(metrics_tpl_parse(tpl, &t, why, sizeof why));
    metrics_tpl_render(&t, &p, exe, out, sizeof out);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "template %s: got '%s', want '%s'\n", tpl, out, want);
    CHECK_STR(out, want);
}

static void refused(const char *tpl, const char *why_has)
{
    metrics_tpl t;
    char why[256] = "";
    CHECK(!metrics_tpl_parse(tpl, &t, why, sizeof why));
    if (!strstr(why, why_has))
        fprintf(stderr, "template %s: '%s' lacks '%s'\n", tpl, why, why_has);
    CHECK(strstr(why, why_has) != NULL);
}

int main(void)
{
    const char *cmd = "/usr/bin/python3 -u /srv/app/worker.py --queue fast";
    render("{comm}", "python3", cmd, "/usr/bin/python3.11", "python3");
    render("{exe}", "python3", cmd, "/usr/bin/python3.11", "/usr/bin/python3.11");
    render("{exe:basename}", "python3", cmd, "/usr/bin/python3.11", "python3.11");
    render("{cmdline}", "python3", cmd, "", cmd);
    render("{cmdline[0]}", "python3", cmd, "", "/usr/bin/python3");
    render("{cmdline[2]:basename}", "python3", cmd, "", "worker.py");
    render("{cmdline[2..3]}", "python3", cmd, "", "/srv/app/worker.py --queue");
    render("{cmdline[0..2]:basename}", "python3", cmd, "", "python3 -u worker.py");
    render("{cmdline[3..]}", "python3", cmd, "", "--queue fast");
    render("{comm}:{cmdline[2]:basename}", "python3", cmd, "", "python3:worker.py");
    render("{{{comm}}}", "python3", cmd, "", "{python3}");
    render("app-{cmdline[9]}", "python3", cmd, "", "app-");
    /* Empty renderings fall back to the comm: a refused exe, a word past the end, no cmdline. */
    render("{exe}", "python3", cmd, "", "python3");
    render("{cmdline[9]}", "python3", cmd, "", "python3");
    render("{cmdline}", "kworker", "", "", "kworker");
    /* Cut at 128 bytes; a 2-byte character straddling the cut is dropped whole. */
    char tpl[300], want[200];
    memset(tpl, 'a', 127);
    snprintf(tpl + 127, sizeof tpl - 127, "\xC3\xA9{comm}");
    memset(want, 'a', 127);
    want[127] = '\0';
    render(tpl, "x", "", "", want);
    memset(tpl, 'a', 126);
    snprintf(tpl + 126, sizeof tpl - 126, "\xC3\xA9{comm}");
    memset(want, 'a', 126);
    snprintf(want + 126, sizeof want - 126, "\xC3\xA9");
    render(tpl, "x", "", "", want);

    refused("", "1 to 256 bytes");
    refused("{pid}", "unknown field");
    refused("{cmdline[3..1]}", "unknown field");
    refused("{cmdline[]}", "unknown field");
    refused("{cmdline[..2]}", "unknown field");
    refused("{comm", "unknown field");
    refused("a}b", "lone '}'");
    refused("{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}{comm}",
            "at most 16");

    /* Matches: the default looks at comm and cmdline, a FIELD= at that one only. */
    metrics_select s = {0};
    char why[256];
    ms_procinfo p = {.pid = 7};
    snprintf(p.name, sizeof p.name, "python3");
    p.cmdline = (char *)cmd;
    CHECK(metrics_select_add_match(&s, "worker\\.py", why, sizeof why));
    CHECK(metrics_select_process(&s, &p, ""));
    metrics_select_free(&s);
    CHECK(metrics_select_add_match(&s, "comm=worker", why, sizeof why));
    CHECK(!metrics_select_process(&s, &p, "/usr/bin/python3.11"));
    CHECK(metrics_select_add_match(&s, "exe=^/usr/bin/python3\\.[0-9]+$", why, sizeof why));
    CHECK(metrics_select_process(&s, &p, "/usr/bin/python3.11"));
    CHECK(!metrics_select_process(&s, &p, ""));
    CHECK(s.match_exe && s.match_process && !s.match_cgroup);
    CHECK(metrics_select_add_match(&s, "cgroup=^/system\\.slice/", why, sizeof why));
    CHECK(metrics_select_cgroup(&s, "/system.slice/nginx.service"));
    CHECK(!metrics_select_cgroup(&s, "/user.slice"));
    CHECK(!metrics_select_add_match(&s, "cmdline=(", why, sizeof why) && strstr(why, "POSIX extended"));
    CHECK(!metrics_select_add_match(&s, "comm=", why, sizeof why));
    metrics_select_free(&s);
    for (int i = 0; i < METRICS_MATCH_MAX; i++)
        CHECK(metrics_select_add_match(&s, "x", why, sizeof why));
    CHECK(!metrics_select_add_match(&s, "x", why, sizeof why) && strstr(why, "at most"));
    metrics_select_free(&s);
    return check_done();
}
