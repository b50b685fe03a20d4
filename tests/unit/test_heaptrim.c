/* test_heaptrim.c - the deferred heap trim: it waits for the idle time, a request beginning puts it
 * off, it really hands freed pages in the middle of the heap back (the process's RSS falls), it
 * trims at once when its thread is not running, and request threads racing it leave it sound. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "heaptrim.h"

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits up to 10 s for the trim count to pass n; whether it did. */
static bool trimmed_past(uint64_t n)
{
    for (int i = 0; i < 1000 && heaptrim_count() <= n; i++)
        sleep_ms(10);
    return heaptrim_count() > n;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_fallback_trims_at_once(void)
{
    uint64_t n = heaptrim_count();
    heaptrim_idle();                       /* no thread: trimmed on the caller's */
    CHECK_EQ_U64(heaptrim_count(), n + 1);
}

static void test_waits_for_idle_time(void)
{
    CHECK(heaptrim_start(30000) == MS_OK);
    uint64_t n = heaptrim_count();
    heaptrim_idle();
    sleep_ms(200);
    CHECK_EQ_U64(heaptrim_count(), n);     /* due in 30 s */
    heaptrim_stop();                       /* the pending trim is dropped */
    CHECK_EQ_U64(heaptrim_count(), n);
}

static void test_busy_puts_it_off(void)
{
    CHECK(heaptrim_start(1000) == MS_OK);
    uint64_t n = heaptrim_count();
    heaptrim_idle();
    heaptrim_busy();                       /* a request began: no trim until the next idle */
    sleep_ms(1300);
    CHECK_EQ_U64(heaptrim_count(), n);
    heaptrim_idle();
    CHECK(trimmed_past(n));
    heaptrim_stop();
}

/* 32 MiB in 64 KiB blocks, each followed by a small block that stays, so that freeing the large
 * ones leaves free pages between live blocks, which only malloc_trim gives back. */
static void test_gives_pages_back(void)
{
#if defined(__SANITIZE_ADDRESS__)
    CHECK_SKIP("AddressSanitizer's allocator (its quarantine keeps freed blocks) is not glibc's heap, "
               "which malloc_trim trims");
    return;
#endif
    enum { N = 512, BIG = 64 << 10 };
    static void *big[N], *keep[N];
    for (int i = 0; i < N; i++) {
        big[i] = malloc(BIG);
        keep[i] = malloc(64);
        if (big[i])
            memset(big[i], 1, BIG);
    }
    long touched = rss_kib();
    for (int i = 0; i < N; i++)
        free(big[i]);
    long freed = rss_kib();
    CHECK(heaptrim_start(50) == MS_OK);
    uint64_t n = heaptrim_count();
    heaptrim_idle();
    CHECK(trimmed_past(n));
    long after = rss_kib();
    printf("RSS %ld KiB touched, %ld after free, %ld after the trim\n", touched, freed, after);
    CHECK(freed - after >= (long)N * (BIG / 1024) * 3 / 4);
    heaptrim_stop();
    for (int i = 0; i < N; i++)
        free(keep[i]);
}

static void *racer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        heaptrim_busy();
        heaptrim_idle();
    }
    return NULL;
}

static void test_race(void)
{
    CHECK(heaptrim_start(1) == MS_OK);
    pthread_t th[4];
    int started = 0;
    for (int i = 0; i < 4; i++)
        started += pthread_create(&th[i], NULL, racer, NULL) == 0;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK(started == 4);
    uint64_t n = heaptrim_count();
    heaptrim_idle();
    CHECK(trimmed_past(n));
    heaptrim_stop();
    heaptrim_stop();                       /* stopping twice is harmless */
}

int main(void)
{
    test_fallback_trims_at_once();
    test_waits_for_idle_time();
    test_busy_puts_it_off();
    test_gives_pages_back();
    test_race();
    return check_done();
}
