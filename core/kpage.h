/* kpage.h - one frame's entry in /proc/kpageflags or /proc/kpagecount, and the flags' names. */
#ifndef MEMSCOPE_KPAGE_H
#define MEMSCOPE_KPAGE_H

#include <stdbool.h>
#include <stdint.h>

/* Names of /proc/kpageflags bits (KPF_LOCKED = 0 .. ), NULL for an unnamed bit. */
const char *ms_kpageflag_name(unsigned bit);
/* Reads the 8-byte entry of pfn from an open /proc/kpageflags or /proc/kpagecount; false when the
 * file is unreadable (fd < 0 included) or the PFN is past its end. */
bool ms_kpage_read(int fd, uint64_t pfn, uint64_t *out);

#endif
