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

	/* The audit log's times, and what --since takes. */
	CHECK(parse_time("1970-01-01", &v) == 0 && v == 0);
	CHECK(parse_time("1970-01-01T00:00:00Z", &v) == 0 && v == 0);
	CHECK(parse_time("2026-12-05T14:10:29Z", &v) == 0 &&
	    v == 1796479829000ULL);
	CHECK(parse_time("2026-12-05T14:10:29.123Z", &v) == 0 &&
	    v == 1796479829123ULL);
	CHECK(parse_time("2026-12-05T14:10:29.1Z", &v) == 0 &&
	    v == 1796479829100ULL);
	CHECK(parse_time("2026-12-05T14:10:29.123456789Z", &v) == 0 &&
	    v == 1796479829123ULL);
	CHECK(parse_time("2026-12-05T14:10Z", &v) == 0 &&
	    v == 1796479800000ULL);
	CHECK(parse_time("2026-12-05", &v) == 0 && v == 1796428800000ULL);
	CHECK(parse_time("2024-02-29", &v) == 0 && v == 1709164800000ULL);
	CHECK(parse_time("2000-03-01", &v) == 0 && v == 951868800000ULL);
	CHECK(parse_time("9999-12-31T23:59:59.999Z", &v) == 0 &&
	    v == 253402300799999ULL);
	CHECK(parse_time("2025-02-29", &v) == -1);
	CHECK(parse_time("1900-02-29", &v) == -1);
	CHECK(parse_time("2026-04-31", &v) == -1);
	CHECK(parse_time("2026-13-01", &v) == -1);
	CHECK(parse_time("2026-00-01", &v) == -1);
	CHECK(parse_time("2026-12-00", &v) == -1);
	CHECK(parse_time("1969-12-31", &v) == -1);
	CHECK(parse_time("2026-12-5", &v) == -1);
	CHECK(parse_time("2026-12-05T14:10:29", &v) == -1);
	CHECK(parse_time("2026-12-05T14:10:29+01:00", &v) == -1);
	CHECK(parse_time("2026-12-05T24:00:00Z", &v) == -1);
	CHECK(parse_time("2026-12-05T14:60Z", &v) == -1);
	CHECK(parse_time("2026-12-05T14:10:60Z", &v) == -1);
	CHECK(parse_time("2026-12-05T14:10:29.Z", &v) == -1);
	CHECK(parse_time("2026-12-05T14:10:29.1234567890Z", &v) == -1);
	CHECK(parse_time("2026-12-05T14Z", &v) == -1);
	CHECK(parse_time("2026-12-05 14:10:29Z", &v) == -1);
	CHECK(parse_time("2026-12-05Z", &v) == -1);
	CHECK(parse_time(" 2026-12-05", &v) == -1);
	CHECK(parse_time("2026-12-05x", &v) == -1);
	CHECK(parse_time("", &v) == -1);

	CHECK(parse_since("30s", 100000, &v) == 0 && v == 70000);
	CHECK(parse_since("10m", 3600000, &v) == 0 && v == 3000000);
	CHECK(parse_since("2h", 86400000, &v) == 0 && v == 79200000);
	CHECK(parse_since("3d", 4 * 86400000ULL, &v) == 0 &&
	    v == 86400000);
	CHECK(parse_since("3d", 1000, &v) == 0 && v == 0);
	CHECK(parse_since("2026-12-05", 0, &v) == 0 &&
	    v == 1796428800000ULL);
	CHECK(parse_since("2026-12-05T14:10:29Z", 0, &v) == 0 &&
	    v == 1796479829000ULL);
	CHECK(parse_since("3w", 0, &v) == -1);
	CHECK(parse_since("d", 0, &v) == -1);
	CHECK(parse_since("-3d", 0, &v) == -1);
	CHECK(parse_since("3 d", 0, &v) == -1);
	CHECK(parse_since("99999999999999999999d", 0, &v) == -1);
	CHECK(parse_since("999999999999999d", 0, &v) == -1);
	CHECK(parse_since("yesterday", 0, &v) == -1);

	return (check_done("test-util"));
}
