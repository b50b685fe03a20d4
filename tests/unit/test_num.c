/* test_num.c - the cursor number parsers and the user-input parsers. */
#include "check.h"
#include "core/buf.h"
#include "core/num.h"

#include <fcntl.h>

static void test_dec(void)
{
    const char *s = "18446744073709551615 x", *p = s;
    uint64_t v;
    CHECK(ms_num_dec(&p, s + strlen(s), &v));
    CHECK_EQ_U64(v, UINT64_MAX);
    CHECK(*p == ' ');
    s = "18446744073709551616";
    p = s;
    CHECK(!ms_num_dec(&p, s + strlen(s), &v));   /* overflow */
    CHECK(p == s);
    s = "123";
    p = s;
    CHECK(ms_num_dec(&p, s + 2, &v));             /* never reads past end */
    CHECK_EQ_U64(v, 12);
    p = s;
    CHECK(!ms_num_dec(&p, s, &v));
    int64_t sv;
    s = "-42";
    p = s;
    CHECK(ms_num_sdec(&p, s + 3, &sv) && sv == -42);
}

static void test_hex(void)
{
    const char *s = "7ffd1234abcd-", *p = s;
    uint64_t v;
    CHECK(ms_num_hex(&p, s + strlen(s), &v));
    CHECK_EQ_U64(v, 0x7ffd1234abcdULL);
    CHECK(*p == '-');
    s = "10000000000000000";   /* 17 digits: overflow */
    p = s;
    CHECK(!ms_num_hex(&p, s + strlen(s), &v));
    CHECK(ms_parse_addr("0xffffffffffffffff", &v) && v == UINT64_MAX);
    CHECK(ms_parse_addr("0X1f", &v) && v == 0x1f);
    CHECK(!ms_parse_addr("1f", &v));
    CHECK(!ms_parse_addr("0x", &v));
    CHECK(!ms_parse_addr("0x1g", &v));
    CHECK(!ms_parse_addr("0x00000000000000001", &v));
    CHECK(!ms_parse_addr("-0x1", &v));
}

static void test_pid(void)
{
    int pid;
    CHECK(ms_parse_pid("1234", &pid) && pid == 1234);
    CHECK(ms_parse_pid("2147483647", &pid));
    CHECK(!ms_parse_pid("2147483648", &pid));
    CHECK(!ms_parse_pid("0", &pid));
    CHECK(!ms_parse_pid("-1", &pid));
    CHECK(!ms_parse_pid("0x10", &pid));
    CHECK(!ms_parse_pid("12a", &pid));
    CHECK(!ms_parse_pid("012", &pid));
    CHECK(!ms_parse_pid("+12", &pid));
    CHECK(!ms_parse_pid("", &pid));
    CHECK(!ms_parse_pid("..%2f", &pid));
}

static void test_size(void)
{
    uint64_t v;
    CHECK(ms_parse_size("4096", &v) && v == 4096);
    CHECK(ms_parse_size("64KiB", &v) && v == 65536);
    CHECK(ms_parse_size("1GiB", &v) && v == 1ULL << 30);
    CHECK(ms_parse_size("2MB", &v) && v == 2000000);
    CHECK(ms_parse_size("16k", &v) && v == 16384);
    CHECK(!ms_parse_size("16 KiB", &v));
    CHECK(!ms_parse_size("-1", &v));
    CHECK(!ms_parse_size("1.5GiB", &v));
    CHECK(!ms_parse_size("99999999999TiB", &v));
    CHECK(!ms_parse_size("", &v));
}

static void test_buf(void)
{
    ms_buf b;
    ms_buf_init(&b, 100);
    CHECK(ms_read_file_at(AT_FDCWD, "/proc/self/status", &b) == MS_ERR_TOOBIG);
    ms_buf_free(&b);
    ms_buf_init(&b, 0);
    CHECK(ms_read_file_at(AT_FDCWD, "/proc/self/status", &b) == MS_OK);
    CHECK(b.len > 100 && b.data[b.len] == '\0' && strstr(b.data, "VmRSS:") != NULL);
    CHECK(ms_read_file_at(AT_FDCWD, "/proc/no-such-file", &b) == MS_ERR_NOENT);
    ms_buf_free(&b);
}

int main(void)
{
    test_dec();
    test_hex();
    test_pid();
    test_size();
    test_buf();
    return check_done();
}
