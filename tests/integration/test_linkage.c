/* test_linkage.c - the memscoped under test carries no TLS stack: its libmicrohttpd is the static
 * build without HTTPS that scripts/mhd.sh makes from Debian's source package, not Debian's
 * libmicrohttpd12, which is built with GnuTLS and maps nine more libraries (~2.5 MiB of resident
 * memory in an idle memscoped).  CMake falls back to the system library when that build is
 * missing; this test is what turns the fallback into a failure.  Unless scripts/mhd.sh recorded
 * that it could not get the source (no network): CMake passes that reason in
 * MEMSCOPE_MHD_FALLBACK, and the TLS-less checks are skipped with it, while the system library
 * is checked to be the one loaded (the fallback is what got linked, nothing stranger).
 *
 * Two independent views: the running server's /proc/PID/maps, read here directly (what the
 * kernel mapped), and ldd on the same executable (what the dynamic loader would load).  Each must
 * also show what is expected to be there (the executable itself, libc, libjansson), so an empty or
 * unreadable answer cannot pass. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

/* Debian bookworm's libmicrohttpd12 and the libraries its GnuTLS pulls in. */
static const char *const tls_stack[] = {
    "libmicrohttpd.so", "libgnutls", "libp11-kit", "libnettle", "libhogweed", "libgmp",
    "libtasn1", "libunistring", "libidn2", "libffi",
};

/* How many lines of text contain needle; the lines are printed with the reason when it is a
 * forbidden one. */
static int lines_with(const char *text, const char *needle, const char *why)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *hit = strstr(p, needle);
        if (hit && hit < p + len) {
            if (why && n == 0)
                fprintf(stderr, "%s: %.*s\n", why, (int)len, p);
            n++;
        }
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap);
    size_t n;
    while (text && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *nb = realloc(text, cap * 2);
            if (!nb) {
                free(text);
                text = NULL;
                break;
            }
            text = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (text)
        text[len] = '\0';
    return text;
}

int main(void)
{
    ms_server srv;
    if (!server_start(&srv, NULL)) {
        fprintf(stderr, "memscoped did not start\n");
        return 1;
    }
    /* libmicrohttpd is in there and serving (statically linked, it has no file of its own). */
    http_resp r;
    CHECK(http_get(&srv, "/api/v1/health", &r) && r.status == 200);
    http_resp_free(&r);

    char path[64], exe[4096];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)srv.pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n > 0 ? n : 0] = '\0';

    snprintf(path, sizeof path, "/proc/%d/maps", (int)srv.pid);
    char *maps = read_text(path);
    CHECK(maps != NULL);
    if (maps) {
        CHECK(lines_with(maps, exe, NULL) > 0);
        CHECK(lines_with(maps, "/libc.so.6", NULL) > 0);
        CHECK(lines_with(maps, "/libjansson.so", NULL) > 0);
    }

    /* What CMake linked: "notls" (the build of scripts/mhd.sh) or "system".  The system's is
     * accepted only where mhd.sh fell back on purpose and said why. */
    const char *linked = getenv("MEMSCOPE_MHD_LINKED"), *why = getenv("MEMSCOPE_MHD_FALLBACK");
    bool fell_back = linked && strcmp(linked, "system") == 0 && why && *why;
    CHECK(linked && (strcmp(linked, "notls") == 0 || strcmp(linked, "system") == 0));
    if (fell_back) {
        CHECK_SKIP("scripts/mhd.sh could not build the TLS-less libmicrohttpd (%s): memscoped links "
                   "the system's, checked to be the one mapped", why);
        CHECK(maps && lines_with(maps, "libmicrohttpd.so", NULL) > 0);
        free(maps);
        CHECK_EQ_U64(server_stop(&srv), 0);
        return check_done();
    }

    for (size_t i = 0; maps && i < sizeof tls_stack / sizeof *tls_stack; i++)
        CHECK_EQ_U64(lines_with(maps, tls_stack[i], "mapped in the running memscoped"), 0);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ldd '%s'", exe);
    char *ldd = strchr(exe, '\'') ? NULL : run_capture(cmd);
    CHECK(ldd != NULL);
    if (ldd) {
        CHECK(lines_with(ldd, "libc.so.6", NULL) > 0);
        CHECK(lines_with(ldd, "libjansson.so", NULL) > 0);
        for (size_t i = 0; i < sizeof tls_stack / sizeof *tls_stack; i++)
            CHECK_EQ_U64(lines_with(ldd, tls_stack[i], "ldd lists"), 0);
    }
    if (check_fail_)
        fprintf(stderr, "memscoped links the system's libmicrohttpd (with GnuTLS): run scripts/mhd.sh, "
                        "then re-run cmake (its configure line says which libmicrohttpd it found)\n");

    free(maps);
    free(ldd);
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
