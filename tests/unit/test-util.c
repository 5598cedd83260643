/* The value parsers every config section shares. */
#include <stdint.h>

#include "check.h"
#include "util.h"

int
main(void)
{
	uint64_t	v;
	long long	n;
	char		buf[32];

	CHECK(parse_duration("100ms", &v) == 0 && v == 100);
	CHECK(parse_duration("5s", &v) == 0 && v == 5000);
	CHECK(parse_duration("2m", &v) == 0 && v == 120000);
	CHECK(parse_duration("1h", &v) == 0 && v == 3600000);
	CHECK(parse_duration("0s", &v) == 0 && v == 0);
	CHECK(parse_duration("5", &v) == -1);
	CHECK(parse_duration("", &v) == -1);
	CHECK(parse_duration("s", &v) == -1);
	CHECK(parse_duration("-5s", &v) == -1);
	CHECK(parse_duration("5 s", &v) == -1);
	CHECK(parse_duration("5sec", &v) == -1);
	CHECK(parse_duration("1.5s", &v) == -1);
	CHECK(parse_duration("99999999999999999999999s", &v) == -1);
	CHECK(parse_duration("18446744073709551615h", &v) == -1);

	CHECK(parse_size("512", &v) == 0 && v == 512);
	CHECK(parse_size("64K", &v) == 0 && v == 65536);
	CHECK(parse_size("1M", &v) == 0 && v == 1048576);
	CHECK(parse_size("4G", &v) == 0 && v == 4ULL << 30);
	CHECK(parse_size("1T", &v) == -1);
	CHECK(parse_size("K", &v) == -1);
	CHECK(parse_size("-1", &v) == -1);
	CHECK(parse_size("1k", &v) == -1);
	CHECK(parse_size("18446744073709551615G", &v) == -1);

	CHECK(parse_number("42", 0, 100, &n) == 0 && n == 42);
	CHECK(parse_number("101", 0, 100, &n) == -1);
	CHECK(parse_number("4x", 0, 100, &n) == -1);
	CHECK(parse_number("", 0, 100, &n) == -1);

	format_duration(840, buf, sizeof(buf));
	CHECK_STR(buf, "0.84s");
	format_duration(252000, buf, sizeof(buf));
	CHECK_STR(buf, "4m12s");
	format_duration(2 * 86400000ULL + 3600000, buf, sizeof(buf));
	CHECK_STR(buf, "2d01h");
	format_time(0, buf, sizeof(buf));
	CHECK_STR(buf, "1970-01-01T00:00:00Z");

	return (check_done("test-util"));
}
