/* fuzz_proc.c - libFuzzer harness for every /proc text parser.  The first byte picks the parser, the
 * rest is the file's text: one harness, one corpus seeded with all recorded fixtures.
 * Built only with -DMEMSCOPE_FUZZ=ON (clang). */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/maps.h"
#include "core/proc.h"
#include "core/rstream.h"
#include "core/smaps.h"
#include "core/stat.h"
#include "core/status.h"
#include "core/system.h"
#include "tests/unit/rstream_agree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory laid out like /proc/<pid> (a live process's stat, the fuzzed maps or smaps), made once:
 * the streaming reader works on files, and must agree with the whole-file reader on every input. */
static int fuzz_dir = -1;

static int proc_dir(void)
{
    static const char stat_line[] = "7350 (memscope-subjec) S 7344 7339 3781 0 -1 4194304 181 0 0 0 0 "
        "0 0 0 20 0 1 0 55589 3751936 448 18446744073709551615 94914760118272 94914760122297 "
        "140736626245376 0 0 0 0 4 16386 1 0 0 17 0 0 0 0 0 0 94914760130000 94914760130776 "
        "94915324145664 140736626248159 140736626248309 140736626248309 140736626249691 0\n";
    if (fuzz_dir >= 0)
        return fuzz_dir;
    char tmpl[] = "/tmp/memscope-fuzz-XXXXXX";
    if (!mkdtemp(tmpl) || ms_dir_open(tmpl, &fuzz_dir) != MS_OK)
        abort();
    int fd = openat(fuzz_dir, "stat", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, stat_line, sizeof stat_line - 1) != (ssize_t)(sizeof stat_line - 1))
        abort();
    close(fd);
    return fuzz_dir;
}

/* The stream, 256 bytes at a time so nearly every line crosses a refill, against ms_*_read on the
 * same file: the same verdict, and the same regions with the same fields. */
static void stream_agrees(const char *name, const char *text, size_t len)
{
    int dir = proc_dir();
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (len && write(fd, text, len) != (ssize_t)len))
        abort();
    close(fd);
    rs_agreement a = rs_agree(dir, name, 256, (rs_agree_opts){.kinds = false, .file_fields = true});
    if (!rs_agreed(&a))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t which = data[0] % 5;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    switch (which) {
    case 0: {
        ms_maps m;
        ms_maps_init(&m);
        if (ms_buf_append(&m.buf, text, len) == MS_OK && ms_maps_parse(&m) == MS_OK) {
            for (size_t i = 0; i < m.nregions; i++)
                if (m.regions[i].start > m.regions[i].end || m.regions[i].path_len > len)
                    __builtin_trap();
            if (m.nregions)
                (void)ms_maps_find(m.regions, m.nregions, m.regions[0].start);
        }
        ms_maps_free(&m);
        stream_agrees("maps", text, len);
        break;
    }
    case 1: {
        ms_smaps s;
        ms_smaps_init(&s);
        if (ms_buf_append(&s.maps.buf, text, len) == MS_OK && ms_smaps_parse(&s) == MS_OK) {
            ms_smaps_totals t;
            ms_smaps_totals_of(&s, 0, s.maps.nregions, &t);
            ms_smaps_group *g = NULL;
            size_t ng = 0;
            if (ms_smaps_group_by_path(&s, &g, &ng) == MS_OK)
                free(g);
            char name[96];
            for (size_t i = 0; i < s.nfields; i++)
                (void)ms_smaps_json_name(s.fields[i].name, s.fields[i].name_len, name, sizeof name);
        }
        ms_smaps_free(&s);
        stream_agrees("smaps", text, len);
        break;
    }
    case 2: {
        ms_status st;
        ms_status_init(&st);
        if (ms_buf_append(&st.buf, text, len) == MS_OK)
            (void)ms_status_parse(&st);
        ms_status_free(&st);
        break;
    }
    case 3: {
        ms_stat sp;
        (void)ms_stat_parse(text, len, &sp);
        break;
    }
    case 4: {
        ms_meminfo mi;
        ms_meminfo_init(&mi);
        if (ms_buf_append(&mi.buf, text, len) == MS_OK)
            (void)ms_meminfo_parse(&mi);
        ms_meminfo_free(&mi);
        break;
    }
    }
    return 0;
}
