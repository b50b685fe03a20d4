/* fuzz_input.c - libFuzzer harness for the parsers of user input: sizes, addresses, pids, numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    uint64_t v;
    int pid;
    if (ms_parse_pid(s, &pid) && pid <= 0)
        __builtin_trap();
    (void)ms_parse_addr(s, &v);
    (void)ms_parse_size(s, &v);
    (void)ms_parse_u64(s, UINT64_MAX, &v);
    const char *p = s, *end = s + size;
    if (ms_num_dec(&p, end, &v) && (p < s || p > end))
        __builtin_trap();
    p = s;
    if (ms_num_hex(&p, end, &v) && (p < s || p > end))
        __builtin_trap();
    int64_t sv;
    p = s;
    (void)ms_num_sdec(&p, end, &sv);
    free(s);
    return 0;
}
