/* test_exp_spawn.c - a lab that cannot be started for lack of file descriptors is a 503 that says
 * so, not a 500.
 *
 * memscoped runs under `prlimit --nofile=64`; every held experiment keeps three of its descriptors
 * (the lab's stdin, stdout and stderr pipes) and a start needs eight more for a moment.  Starting
 * held experiments one after another therefore runs out of descriptors at a spawn, deterministically,
 * while the request itself still gets its connection.  That start must be refused with 503 and the
 * JSON error naming descriptors; once the held ones are deleted a start works again. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define MAX_TRIES 40

int main(void)
{
    ms_server srv;
    const char *wrap[] = {"prlimit", "--nofile=64:64", "--", NULL};
    const char *args[] = {"--max-experiments", "40", NULL};
    if (access("/usr/bin/prlimit", X_OK) != 0 && access("/bin/prlimit", X_OK) != 0) {
        CHECK_SKIP("prlimit (util-linux) is not installed");
        return check_done();
    }
    if (!server_start_cmd(&srv, wrap, args)) {
        fprintf(stderr, "could not start memscoped under prlimit\n");
        return 1;
    }
    long long ids[MAX_TRIES];
    int started = 0, refused = 0, other = 0;
    for (int i = 0; i < MAX_TRIES && !refused; i++) {
        http_resp r;
        if (!http_do(&srv, "POST", "/api/v1/experiments", "{\"steps\":[{\"op\":\"sleep\",\"ms\":0}],\"hold_s\":60}",
                     NULL, &r)) {
            other++;
            break;
        }
        if (r.status == 201) {
            ids[started++] = jint(r.json, "id");
        } else if (r.status == 503) {
            refused++;
            const char *code = jstr(r.json, "error.code"), *msg = jstr(r.json, "error.message");
            printf("start %d refused: %s: %s\n", i + 1, code ? code : "?", msg ? msg : "?");
            CHECK_STR(code, "out_of_resources");
            CHECK(msg && strstr(msg, "file descriptor"));
        } else {
            fprintf(stderr, "start %d: %ld %.300s\n", i + 1, r.status, r.body ? r.body : "");
            other++;
        }
        http_resp_free(&r);
        if (other)
            break;
    }
    printf("%d held experiments started before descriptors ran out\n", started);
    CHECK(started >= 1);
    CHECK_EQ_U64(refused, 1);
    CHECK_EQ_U64(other, 0);

    for (int i = 0; i < started; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/experiments/%lld", ids[i]);
        http_resp r;
        CHECK(http_do(&srv, "DELETE", path, NULL, NULL, &r) && r.status == 200);
        http_resp_free(&r);
    }
    http_resp r;   /* the descriptors are back: a start works again */
    CHECK(http_do(&srv, "POST", "/api/v1/experiments", "{\"steps\":[{\"op\":\"sleep\",\"ms\":0}]}", NULL, &r) &&
          r.status == 201);
    http_resp_free(&r);
    CHECK_EQ_U64(server_stop(&srv), 0);
    return check_done();
}
