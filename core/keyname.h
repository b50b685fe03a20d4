/* keyname.h - the API's name for a key the kernel prints ("VmRSS", "Pss_Anon", "FDSize"): one
 * snake_case rule, shared by the readers whose keys reach JSON (smaps, status), each of which keeps
 * its own table of names for the keys it knows. */
#ifndef MEMSCOPE_KEYNAME_H
#define MEMSCOPE_KEYNAME_H

#include <stddef.h>

/* Lower case, '_' before an upper-case letter that follows a lower-case letter or a digit
 * ("HugetlbPages" -> "hugetlb_pages", "VmRSS" -> "vm_rss"), '_' for anything that is not a letter,
 * digit or '_'.  A name already in snake_case comes back as it is.  Writes at most cap-1 bytes +
 * NUL to out (never ending on a '_' it added) and returns out. */
const char *ms_keyname_snake(const char *key, size_t len, char *out, size_t cap);

#endif
