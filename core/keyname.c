/* keyname.c - the one snake_case rule for the kernel's keys, as the API names them.
 *
 * Known keys get their names from their reader's table (smaps.c, status.c); this rule names the rest,
 * so a key a future kernel adds reaches the API under a predictable name instead of being dropped. */
#include "keyname.h"

const char *ms_keyname_snake(const char *key, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        char c = key[i];
        if (c >= 'A' && c <= 'Z') {
            char prev = i ? key[i - 1] : '\0';
            if ((prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9')) {
                if (o + 2 >= cap)
                    break;                  /* no room for "_x": stop rather than end on '_' */
                out[o++] = '_';
            }
            out[o++] = (char)(c - 'A' + 'a');
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            out[o++] = c;
        } else {
            out[o++] = '_';
        }
    }
    out[o] = '\0';
    return out;
}
