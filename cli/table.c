/* table.c - aligned text tables and human sizes for the command line; see table.h. */
#include "table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/num.h"

bool tbl_exact_bytes;

void tbl_init(tbl *t, size_t ncols, const char *const *head, const char *align)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols < TBL_MAX_COLS ? ncols : TBL_MAX_COLS;
    for (size_t i = 0; i < t->ncols; i++) {
        t->head[i] = head[i];
        t->align[i] = align[i] == 'r' ? 'r' : 'l';
    }
}

static char *clean_dup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        d[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    d[n] = '\0';
    return d;
}

void tbl_row(tbl *t, const char *const *cells)
{
    if (t->err != MS_OK)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c) {
            t->err = MS_ERR_NOMEM;
            return;
        }
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = clean_dup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            while (i--)
                free(row[i]);
            t->err = MS_ERR_NOMEM;
            return;
        }
    }
    t->nrows++;
}

/* Characters on screen: UTF-8 continuation bytes take no column. */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* The byte length of s's first `cols` characters. */
static size_t bytes_for(const char *s, size_t cols)
{
    size_t i = 0, w = 0;
    while (s[i]) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (w == cols)
                break;
            w++;
        }
        i++;
    }
    return i;
}

/* The terminal's width, or 0 (no limit) when stdout is not one. */
static size_t term_width(FILE *f)
{
    int fd = fileno(f);
    if (fd < 0 || !isatty(fd))
        return 0;
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    uint64_t c;
    const char *env = getenv("COLUMNS");
    if (env && ms_parse_u64(env, 10000, &c) && c > 0)
        return (size_t)c;
    return 80;
}

static bool want_bold(FILE *f)
{
    const char *term = getenv("TERM");
    int fd = fileno(f);
    return fd >= 0 && isatty(fd) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

static void print_cell(FILE *f, const char *s, size_t w, char align, bool last, size_t cut)
{
    size_t sw = width_of(s);
    if (last && cut && sw > cut) {
        fwrite(s, 1, bytes_for(s, cut > 1 ? cut - 1 : 0), f);
        fputs(cut > 1 ? "…" : "", f);
        return;
    }
    if (align == 'r')
        for (size_t k = sw; k < w; k++)
            fputc(' ', f);
    fputs(s, f);
    if (align == 'l' && !last)
        for (size_t k = sw; k < w; k++)
            fputc(' ', f);
}

ms_err tbl_print(tbl *t, FILE *f)
{
    size_t w[TBL_MAX_COLS] = {0};
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = width_of(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = width_of(t->cells[r * t->ncols + c]);
            if (cw > w[c])
                w[c] = cw;
        }
    }
    /* What is left for the last column once the others and their separators are laid out. */
    size_t tw = term_width(f), used = 0, cut = 0;
    for (size_t c = 0; c + 1 < t->ncols; c++)
        used += w[c] + 2;
    if (tw)
        cut = tw > used + 8 ? tw - used : 8;
    bool bold = want_bold(f);
    if (bold)
        fputs("\033[1m", f);
    for (size_t c = 0; c < t->ncols; c++) {
        print_cell(f, t->head[c], w[c], t->align[c], c + 1 == t->ncols, cut);
        if (c + 1 < t->ncols)
            fputs("  ", f);
    }
    if (bold)
        fputs("\033[0m", f);
    fputc('\n', f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            print_cell(f, t->cells[r * t->ncols + c], w[c], t->align[c], c + 1 == t->ncols, cut);
            if (c + 1 < t->ncols)
                fputs("  ", f);
        }
        fputc('\n', f);
    }
    return t->err;
}

void tbl_free(tbl *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

const char *tbl_size(uint64_t bytes, char *out)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (tbl_exact_bytes || bytes < 1024) {
        snprintf(out, 24, tbl_exact_bytes ? "%" PRIu64 : "%" PRIu64 " B", bytes);
        return out;
    }
    int u = 0;
    uint64_t div = 1024;
    while (u < 4 && bytes / div >= 1024) {
        div *= 1024;
        u++;
    }
    /* Tenths, rounded; shown below 10 units when not whole ("1.5 MiB", "4 KiB", "12 GiB"). */
    uint64_t tenths = (bytes * 10 + div / 2) / div;
    if (bytes > UINT64_MAX / 10)
        tenths = bytes / (div / 10);
    if (tenths < 100 && tenths % 10)
        snprintf(out, 24, "%" PRIu64 ".%" PRIu64 " %s", tenths / 10, tenths % 10, unit[u]);
    else
        snprintf(out, 24, "%" PRIu64 " %s", (tenths + 5) / 10, unit[u]);
    return out;
}

const char *tbl_hex(uint64_t v, char *out)
{
    snprintf(out, 24, "0x%" PRIx64, v);
    return out;
}

const char *tbl_u64(uint64_t v, char *out)
{
    snprintf(out, 24, "%" PRIu64, v);
    return out;
}
