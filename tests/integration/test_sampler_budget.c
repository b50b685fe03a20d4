/* test_sampler_budget.c - the sampler's rollups make progress when the listing alone spends the
 * budget: with --sample-budget at its least (0.1%: 0.2 ms of a 200 ms round, far below what listing
 * every process costs), every round still reads its minimum of rollups (the rest counted as
 * skipped, never guessed), and a new process whose RSS is large (so first in line among the
 * non-starved: largest change first) gets its PSS within the documented bound
 * (10 + ceil(processes / 8) rounds).  The starved queue's own bound, which on a machine with
 * thousands of processes runs to hundreds of rounds, is tested in unit.psscache. */
#include "check.h"
#include "hsubject.h"

static ms_server srv;

#define MIN_ROLLUPS 8          /* MS_SAMPLER_MIN_ROLLUPS */
#define STARVED_ROUNDS 10      /* MS_PSS_STARVED_CALLS */

static void progress_under_spent_budget(void)
{
    CHECK(hs_wait_rounds(&srv, 2, 120000));
    json_t *h, *j = hs_health(&srv, &h);
    long long round0 = jint(h, "sampler.rounds"), procs = jint(h, "sampler.processes");
    json_decref(j);
    hsubject s = {0};
    const char *args[] = {"grow", "0", "536870912", NULL};      /* 512 MiB written at once */
    if (!hs_start(&s, args)) {
        CHECK(!"the subject did not start");
        return;
    }
    /* the bound counts rounds from the first that lists the subject; allow the one in progress */
    long long bound = STARVED_ROUNDS + (procs + 64 + MIN_ROLLUPS - 1) / MIN_ROLLUPS + 2;
    long long seen_round = round0, got_at = -1;
    bool floor_kept = true, over_budget_seen = false;
    for (long end = hs_now_ms() + 240000; hs_now_ms() < end && got_at < 0; usleep(100000)) {
        j = hs_health(&srv, &h);
        long long rounds = jint(h, "sampler.rounds");
        if (rounds != seen_round) {
            seen_round = rounds;
            long long read = jint(h, "sampler.rollups_read"), failed = jint(h, "sampler.rollups_failed"),
                      skipped = jint(h, "sampler.rollups_skipped");
            /* at least the minimum is read whenever that many were due */
            if (read + failed < (read + failed + skipped < MIN_ROLLUPS ? read + failed + skipped : MIN_ROLLUPS))
                floor_kept = false;
            if (skipped > 0 && jint(h, "sampler.list_cpu_us") > jint(h, "sampler.rollup_budget_us"))
                over_budget_seen = true;
        }
        json_decref(j);
        json_t *root = http_get_json(&srv, "/api/v1/processes/%d/history?since=10m", s.pid);
        json_t *pts = root ? json_object_get(root, "points") : NULL, *pt;
        size_t i;
        json_array_foreach(pts, i, pt) {
            if (json_is_integer(json_object_get(pt, "pss"))) {
                got_at = seen_round;
                CHECK(jint(pt, "pss") > 0 && jint(pt, "uss") <= jint(pt, "pss"));
                break;
            }
        }
        json_decref(root);
    }
    CHECK(floor_kept);
    CHECK(got_at >= 0);
    if (got_at >= 0 && got_at - round0 > bound)
        fprintf(stderr, "PSS after %lld rounds, bound %lld (%lld processes)\n", got_at - round0, bound, procs);
    CHECK(got_at >= 0 && got_at - round0 <= bound);
    if (!over_budget_seen)
        CHECK_SKIP("the listing never outspent the budget here, so the floor was not the only reads");
    hs_stop(&s);
}

int main(void)
{
    char dir[256];
    CHECK(hs_tmpdir(dir, sizeof dir));
    const char *extra[] = {"--data-dir", dir, "--sample-interval", "200ms", "--sample-budget", "0.1%", NULL};
    if (!server_start(&srv, extra)) {
        fprintf(stderr, "memscoped did not start\n");
        return 1;
    }
    progress_under_spent_budget();
    CHECK(server_stop(&srv) == 0);
    hs_rmdir(dir);
    return check_done();
}
