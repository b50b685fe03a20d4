/* fuzz_proc.c - libFuzzer harness for every /proc text parser.  The first byte picks the parser, the
 * rest is the file's text: one harness, one corpus seeded with all recorded fixtures.
 * Built only with -DMEMSCOPE_FUZZ=ON (clang). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/maps.h"
#include "core/smaps.h"
#include "core/status.h"
#include "core/system.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
