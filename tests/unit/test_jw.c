/* test_jw.c - the streaming JSON writer's output, parsed back by jansson. */
#include <jansson.h>

#include "check.h"
#include "jw.h"

static json_t *parse(ms_buf *b)
{
    json_error_t e;
    json_t *j = json_loadb(b->data, b->len, 0, &e);
    if (!j)
        fprintf(stderr, "jansson: %s at %d in: %.200s\n", e.text, e.position, b->data);
    return j;
}

static void test_shapes(void)
{
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_ku64(&w, "max", (uint64_t)INT64_MAX);   /* jansson's own ceiling */
    jw_ki64(&w, "min", INT64_MIN);
    jw_khex(&w, "addr", 0x7ffd00001000ULL);
    jw_khex(&w, "zero", 0);
    jw_kbool(&w, "t", true);
    jw_knull(&w, "n");
    jw_key(&w, "empty_arr");
    jw_arr(&w);
    jw_arr_end(&w);
    jw_key(&w, "empty_obj");
    jw_obj(&w);
    jw_obj_end(&w);
    jw_key(&w, "nested");
    jw_arr(&w);
    jw_arr(&w);
    jw_u64(&w, 1);
    jw_str(&w, "two");
    jw_arr_end(&w);
    jw_obj(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    CHECK(jw_finish(&w) == MS_OK);
    json_t *j = parse(&b);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "addr")), "0x7ffd00001000");
    CHECK_STR(json_string_value(json_object_get(j, "zero")), "0x0");
    CHECK(json_is_true(json_object_get(j, "t")));
    CHECK(json_is_null(json_object_get(j, "n")));
    CHECK(json_integer_value(json_object_get(j, "min")) == INT64_MIN);
    CHECK_EQ_U64(json_array_size(json_object_get(j, "nested")), 2);
    CHECK(json_integer_value(json_object_get(j, "max")) == INT64_MAX);
    json_decref(j);
    ms_buf_free(&b);
    /* beyond int64 jansson cannot read it back; the text is still exact */
    ms_buf_init(&b, 0);
    jw_init(&w, &b);
    jw_u64(&w, UINT64_MAX);
    CHECK(jw_finish(&w) == MS_OK && strcmp(b.data, "18446744073709551615") == 0);
    ms_buf_free(&b);
}

static void test_strings(void)
{
    /* a path may hold any byte but NUL and newline: the answer must stay valid JSON */
    static const char nasty[] = "a \"quoted\" \\ path\t\x01\x1f with \xff\xfe bad bytes, \xc3\xa9 ok, "
                                "\xe2\x82\xac ok, \xed\xa0\x80 surrogate, \xc0\xaf overlong, \xf0\x9f\x98\x80 emoji";
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_keyn(&w, "k\"ey", 4);
    jw_strn(&w, nasty, sizeof nasty - 1);
    jw_obj_end(&w);
    CHECK(jw_finish(&w) == MS_OK);
    json_t *j = parse(&b);
    CHECK(j != NULL);
    const char *s = json_string_value(json_object_get(j, "k\"ey"));
    CHECK(s && strstr(s, "a \"quoted\" \\ path\t\x01\x1f with ") == s);
    CHECK(s && strstr(s, "\xef\xbf\xbd\xef\xbf\xbd bad bytes, \xc3\xa9 ok, \xe2\x82\xac ok") != NULL);
    CHECK(s && strstr(s, "\xf0\x9f\x98\x80 emoji") != NULL);
    CHECK(s && strstr(s, "\xed\xa0\x80") == NULL && strstr(s, "\xc0\xaf") == NULL);
    json_decref(j);
    ms_buf_free(&b);
}

static void test_errors(void)
{
    ms_buf b;
    ms_buf_init(&b, 64);   /* a cap the answer will not fit in */
    jw w;
    jw_init(&w, &b);
    jw_arr(&w);
    for (int i = 0; i < 100; i++)
        jw_str(&w, "0123456789");
    jw_arr_end(&w);
    CHECK(jw_finish(&w) == MS_ERR_TOOBIG);
    ms_buf_free(&b);

    ms_buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj(&w);
    CHECK(jw_finish(&w) == MS_ERR_INVAL);   /* unbalanced */
    ms_buf_free(&b);

    ms_buf_init(&b, 0);
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH + 5; i++)
        jw_arr(&w);
    CHECK(w.err == MS_ERR_INVAL);
    ms_buf_free(&b);
}

/* Numbers as printf writes them, at every decimal and hex digit count and edge, every bit length
 * (the writers size a number by its bits) and a spread of others; members appended raw. */
static void test_numbers(void)
{
    uint64_t v[64 + 3 * 64 + 1000];
    size_t nv = 0;
    v[nv++] = 0;
    v[nv++] = UINT64_MAX;
    for (uint64_t p = 1; p && nv < 60; p *= 10) {
        v[nv++] = p - 1;
        v[nv++] = p;
        if (p > UINT64_MAX / 10)
            break;
    }
    for (unsigned k = 0; k < 64; k++) {
        v[nv++] = (uint64_t)1 << k;
        v[nv++] = ((uint64_t)1 << k) - 1;
        v[nv++] = ((uint64_t)1 << k) | (((uint64_t)1 << k) >> 1);
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;     /* xorshift: every magnitude, every digit */
        v[nv++] = x >> (x & 63);
    }
    for (size_t i = 0; i < nv; i++) {
        char got[24], want[24];
        size_t n = jw_fmt_u64(got, v[i]);
        snprintf(want, sizeof want, "%" PRIu64, v[i]);
        CHECK(n == strlen(want) && memcmp(got, want, n) == 0);
        n = jw_fmt_hex(got, v[i]);
        snprintf(want, sizeof want, "0x%" PRIx64, v[i]);
        CHECK(n == strlen(want) && memcmp(got, want, n) == 0);
    }
    ms_buf b;
    ms_buf_init(&b, 0);
    jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_members_raw(&w, "\"a\":1,\"b\":2", 11);
    jw_ku64(&w, "c", 3);
    jw_members_raw(&w, "\"d\":4", 5);
    jw_obj_end(&w);
    CHECK(jw_finish(&w) == MS_OK);
    CHECK_STR(b.data, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}");
    ms_buf_free(&b);
}

int main(void)
{
    test_shapes();
    test_numbers();
    test_strings();
    test_errors();
    return check_done();
}
