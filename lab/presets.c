/* presets.c - the named experiments, one per claim of the seed, each with the lesson it teaches.
 *
 * Kept as data (spec JSON text) compiled into both memscope-lab and memscoped, so
 * `memscope-lab --preset NAME` and POST {"preset":"NAME"} run the same steps.  Presets whose lesson
 * needs 4 KiB pages advise MADV_NOHUGEPAGE on their blocks, so a kernel with THP "always" does not
 * blur the page-for-page numbers. */
#include <string.h>

#include "spec.h"

const ms_preset ms_presets[] = {
    { "seed-1gib", "malloc 1 GiB, touch nothing",
      "malloc hands out virtual memory only: VmSize grows by 1 GiB while VmRSS barely moves, because "
      "no page has been touched yet (the seed saw about 404 KB resident).",
      "{\"steps\":["
      "{\"op\":\"malloc\",\"size\":\"1GiB\",\"as\":\"buf\"}"
      "]}" },
    { "touch-quarter", "malloc 1 GiB, write to a quarter of it",
      "Physical memory follows the pages touched, not the bytes allocated: writing one byte in each "
      "page of a quarter of a 1 GiB block makes exactly 256 MiB resident, one minor fault per 4 KiB page.",
      "{\"steps\":["
      "{\"op\":\"malloc\",\"size\":\"1GiB\",\"as\":\"buf\"},"
      "{\"op\":\"madvise\",\"ptr\":\"buf\",\"advice\":\"nohugepage\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"fraction\":0.25,\"mode\":\"write\"}"
      "]}" },
    { "read-vs-write", "read 16 MiB, then write 16 MiB of a fresh mapping",
      "A first read of untouched anonymous memory maps the kernel's shared zero page: the pages become "
      "present but RSS does not grow. A first write allocates a private 4 KiB frame per page, so RSS "
      "grows page for page.",
      "{\"steps\":["
      "{\"op\":\"mmap\",\"size\":\"64MiB\",\"huge\":\"nohugepage\",\"as\":\"buf\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"length\":\"16MiB\",\"mode\":\"read\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"offset\":\"32MiB\",\"length\":\"16MiB\",\"mode\":\"write\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"length\":\"16MiB\",\"mode\":\"write\"}"
      "]}" },
    { "brk-vs-mmap", "a small block, a large block, then the threshold raised",
      "Small mallocs are carved from the heap, whose top (the program break, brk) moves up as it must "
      "grow; a block at or above glibc's mmap threshold (128 KiB by default) gets an anonymous mapping "
      "of its own. Raise the threshold with mallopt and the same 1 MiB block comes from the heap, moving brk.",
      "{\"steps\":["
      "{\"op\":\"malloc\",\"size\":\"100KiB\",\"as\":\"small\"},"
      "{\"op\":\"malloc\",\"size\":\"1MiB\",\"as\":\"big\"},"
      "{\"op\":\"mallopt\",\"param\":\"mmap_threshold\",\"value\":\"4MiB\"},"
      "{\"op\":\"malloc\",\"size\":\"1MiB\",\"as\":\"big_in_heap\"}"
      "]}" },
    { "free-returns", "free a large block, then a heap block, then trim",
      "free() of a large block unmaps it at once: VmSize and VmRSS drop by its size. A freed heap "
      "block stays mapped and resident inside the heap until malloc_trim() hands its pages back.",
      "{\"steps\":["
      "{\"op\":\"malloc\",\"size\":\"64MiB\",\"as\":\"big\"},"
      "{\"op\":\"madvise\",\"ptr\":\"big\",\"advice\":\"nohugepage\"},"
      "{\"op\":\"touch\",\"ptr\":\"big\",\"mode\":\"write\"},"
      "{\"op\":\"free\",\"ptr\":\"big\"},"
      "{\"op\":\"mallopt\",\"param\":\"mmap_threshold\",\"value\":\"32MiB\"},"
      "{\"op\":\"mallopt\",\"param\":\"trim_threshold\",\"value\":\"1GiB\",\"note\":\"so free() never trims by itself\"},"
      "{\"op\":\"malloc\",\"size\":\"16MiB\",\"as\":\"heapbuf\"},"
      "{\"op\":\"malloc\",\"size\":\"4KiB\",\"as\":\"fence\",\"note\":\"keeps heapbuf off the heap top, so free cannot trim it\"},"
      "{\"op\":\"madvise\",\"ptr\":\"heapbuf\",\"advice\":\"nohugepage\"},"
      "{\"op\":\"touch\",\"ptr\":\"heapbuf\",\"mode\":\"write\"},"
      "{\"op\":\"free\",\"ptr\":\"heapbuf\"},"
      "{\"op\":\"malloc_trim\",\"pad\":0}"
      "]}" },
    { "dontneed", "write 64 MiB, then madvise(MADV_DONTNEED)",
      "madvise(MADV_DONTNEED) drops the frames behind a range at once: VmRSS falls by the range while "
      "VmSize stays, and the next read finds zero-filled pages again.",
      "{\"steps\":["
      "{\"op\":\"mmap\",\"size\":\"64MiB\",\"huge\":\"nohugepage\",\"as\":\"buf\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"mode\":\"write\"},"
      "{\"op\":\"madvise\",\"ptr\":\"buf\",\"advice\":\"dontneed\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"mode\":\"read\"}"
      "]}" },
    { "thp", "one write to a huge-page-advised mapping",
      "With transparent huge pages, a single write to a 2 MiB-aligned region advised MADV_HUGEPAGE "
      "can fault in a whole 2 MiB page at once: one fault, 2 MiB more RSS.",
      "{\"steps\":["
      "{\"op\":\"mmap\",\"size\":\"4MiB\",\"huge\":\"hugepage\",\"as\":\"buf\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"pages\":1,\"mode\":\"write\"}"
      "]}" },
    { "fork-cow", "fork, and the child writes a quarter",
      "After fork, parent and child share every page copy-on-write: nothing is copied until one of "
      "them writes. The child's writes turn exactly those pages into private copies; the rest stay shared.",
      "{\"steps\":["
      "{\"op\":\"mmap\",\"size\":\"64MiB\",\"huge\":\"nohugepage\",\"as\":\"buf\"},"
      "{\"op\":\"touch\",\"ptr\":\"buf\",\"mode\":\"write\"},"
      "{\"op\":\"fork\",\"ptr\":\"buf\",\"fraction\":0.25}"
      "]}" },
    { "segfault", "touch an address outside every region",
      "An address that lies in no mapped region is not a page the kernel can fill in: the process gets "
      "SIGSEGV, exactly as the seed says. The experiment reports the signal and the faulting address.",
      "{\"steps\":["
      "{\"op\":\"malloc\",\"size\":\"4KiB\",\"as\":\"p\"},"
      "{\"op\":\"touch\",\"ptr\":\"p\",\"mode\":\"write\"},"
      "{\"op\":\"access_unmapped\"}"
      "]}" },
};
const size_t ms_npresets = sizeof ms_presets / sizeof ms_presets[0];

const ms_preset *ms_preset_find(const char *name)
{
    for (size_t i = 0; i < ms_npresets; i++)
        if (strcmp(ms_presets[i].name, name) == 0)
            return &ms_presets[i];
    return NULL;
}

json_t *ms_presets_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ms_npresets; i++) {
        const ms_preset *p = &ms_presets[i];
        json_t *spec = json_loads(p->spec, 0, NULL);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o*}", "name", p->name, "title", p->title,
                                           "lesson", p->lesson, "spec", spec));
    }
    return a;
}
