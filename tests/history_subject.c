/* history_subject.c - memscope-history-subject: a process whose memory changes over time in a known
 * way, for the history, diff and growth tests.
 *
 *   leak RATE          mallocs (32 KiB blocks, so they come from [heap]) and writes RATE bytes per
 *                      second, kept in step with the clock, never freed
 *   sawtooth PEAK SECS maps and writes 1 MiB blocks up to PEAK bytes over SECS seconds, unmaps them
 *                      all, and again
 *   grow AT BYTES      after AT milliseconds maps and writes BYTES at once (one anonymous mapping),
 *                      then stays as it is
 *   flat               does nothing
 *
 * Prints one line ("ready <pid>") when it has started, then runs until its standard input closes. */
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits ms milliseconds; false when stdin closed (time to go). */
static bool wait_ms(int ms)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    if (poll(&p, 1, ms) > 0) {
        char c;
        if (read(0, &c, 1) <= 0)
            return false;
    }
    return true;
}

static void *touch_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(p, 1, n);
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s leak RATE | sawtooth PEAK SECS | grow AT BYTES | flat\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    double t0 = now_s();
    if (!strcmp(mode, "leak") && argc > 2) {
        double rate = atof(argv[2]);
        uint64_t done = 0;
        const size_t block = 32 << 10;
        do {
            uint64_t want = (uint64_t)(rate * (now_s() - t0));
            while (done + block <= want) {
                char *p = malloc(block);
                if (!p)
                    return 2;
                memset(p, 1, block);
                done += block;
            }
        } while (wait_ms(20));
    } else if (!strcmp(mode, "sawtooth") && argc > 3) {
        size_t peak = (size_t)atof(argv[2]), blk = 1 << 20, nblk = peak / blk;
        int step_ms = (int)(atof(argv[3]) * 1000 / (double)(nblk ? nblk : 1));
        void **b = calloc(nblk + 1, sizeof *b);
        for (;;) {
            for (size_t i = 0; i < nblk; i++) {
                b[i] = touch_map(blk);
                if (!wait_ms(step_ms))
                    return 0;
            }
            for (size_t i = 0; i < nblk; i++)
                munmap(b[i], blk);
        }
    } else if (!strcmp(mode, "grow") && argc > 3) {
        if (!wait_ms(atoi(argv[2])))
            return 0;
        touch_map((size_t)atof(argv[3]));
        printf("grown\n");
        fflush(stdout);
        while (wait_ms(1000))
            ;
    } else if (!strcmp(mode, "flat")) {
        while (wait_ms(1000))
            ;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
