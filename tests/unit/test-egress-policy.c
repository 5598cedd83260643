/*
 * The egress policy: the allow-list's grammar and presets, targets and
 * every spelling that would reach another host than the one matched, and
 * the classes of resolved addresses.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "egress-policy.h"

static struct egress_list	list;
static struct egress_decision	dec;
static struct egress_target	tgt;

/* Parse value into list; the error text, or "" if it parsed. */
static const char *
parse(const char *value)
{
	static char	err[512];

	if (egress_list_parse(&list, value, err, sizeof(err)) == 0)
		return "";
	CHECK(list.n == 0);
	return err;
}

/* Target against list: 1 allowed, 0 refused (dec holds the reason). */
static int
allowed(const char *target)
{
	int	r;

	r = egress_check_target(&list, "claude", target, &tgt, &dec);
	CHECK((r == 0) == (dec.allowed != 0));
	CHECK(r == 0 ? dec.entry != NULL : dec.rule != NULL);
	return r == 0;
}

/* Why target is refused, or "allowed". */
static const char *
refusal(const char *target)
{
	return allowed(target) ? "allowed" : dec.reason;
}

static int
addr_allowed(const char *target, const char *address)
{
	struct in6_addr	a6;
	struct in_addr	a4;
	int		r;

	if (egress_check_target(&list, "claude", target, &tgt, &dec) == -1)
		return -1;
	if (inet_pton(AF_INET, address, &a4) == 1)
		r = egress_check_address(&list, "claude", &tgt, AF_INET, &a4,
		    &dec);
	else if (inet_pton(AF_INET6, address, &a6) == 1)
		r = egress_check_address(&list, "claude", &tgt, AF_INET6,
		    &a6, &dec);
	else {
		fprintf(stderr, "bad address in the test: %s\n", address);
		exit(2);
	}
	CHECK((r == 0) == (dec.allowed != 0));
	return r == 0;
}

static const char *
class_of(const char *address)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (inet_pton(AF_INET, address, &a4) == 1)
		return egress_class_name(egress_classify(AF_INET, &a4));
	if (inet_pton(AF_INET6, address, &a6) == 1)
		return egress_class_name(egress_classify(AF_INET6, &a6));
	return "bad address in the test";
}

static void
test_list(void)
{
	char	buf[300], big[EGRESS_MAX_VALUE + 2];
	size_t	i, o;

	CHECK_STR(parse(NULL), "");
	CHECK(list.n == 0);
	CHECK_STR(parse(" \t\n"), "");
	CHECK(list.n == 0);

	CHECK_STR(parse("GitHub.COM.:443  *.example.org:8443\t10.0.0.1:80 "
	    "[::1]:8080 [2001:DB8::0:1]:443"), "");
	CHECK(list.n == 5);
	CHECK(list.entries[0].kind == EGRESS_NAME);
	CHECK_STR(list.entries[0].host, "github.com");
	CHECK(list.entries[0].port == 443);
	CHECK(list.entries[0].preset == NULL);
	CHECK(list.entries[1].kind == EGRESS_SUFFIX);
	CHECK_STR(list.entries[1].host, "example.org");
	CHECK(list.entries[2].kind == EGRESS_IPV4);
	CHECK(list.entries[3].kind == EGRESS_IPV6);
	CHECK_STR(list.entries[4].host, "2001:db8::1");
	egress_entry_format(&list.entries[1], buf, sizeof(buf));
	CHECK_STR(buf, "*.example.org:8443");
	egress_entry_format(&list.entries[4], buf, sizeof(buf));
	CHECK_STR(buf, "[2001:db8::1]:443");
	egress_entry_format(&list.entries[2], buf, sizeof(buf));
	CHECK_STR(buf, "10.0.0.1:80");

	/* Duplicates, in any spelling, count once. */
	CHECK_STR(parse("a.b:1 A.B.:1 a.b:1 a.b:2"), "");
	CHECK(list.n == 2);

	/* Presets expand, and remember where they came from. */
	CHECK_STR(parse("@anthropic"), "");
	CHECK(list.n == 6);
	CHECK_STR(list.entries[0].host, "api.anthropic.com");
	CHECK_STR(list.entries[0].preset, "@anthropic");
	CHECK_STR(parse("@github @npm @pypi"), "");
	CHECK(list.n == 6 + 1 + 2);
	CHECK(list.entries[4].kind == EGRESS_SUFFIX);
	CHECK_STR(list.entries[4].host, "githubusercontent.com");
	CHECK(list.entries[5].port == 22);

	/* Each bad entry is named, with what is wrong. */
	CHECK_STR(parse("a.b:1 github.com"), "egress entry \"github.com\": "
	    "no port; write \"github.com:443\" for https");
	CHECK_STR(parse("*.github.com"), "egress entry \"*.github.com\": "
	    "no port; write \"*.github.com:443\" for https");
	CHECK_STR(parse("github.com:"), "egress entry \"github.com:\": no port");
	CHECK_STR(parse("github.com:0"), "egress entry \"github.com:0\": the "
	    "port must be a number from 1 to 65535, no leading zero");
	CHECK_STR(parse("github.com:65536"), "egress entry "
	    "\"github.com:65536\": the port must be a number from 1 to 65535, "
	    "no leading zero");
	CHECK_STR(parse("github.com:65535"), "");
	CHECK_STR(parse("github.com:0443"), "egress entry \"github.com:0443\": "
	    "the port must be a number from 1 to 65535, no leading zero");
	CHECK_STR(parse("github.com:+443"), "egress entry \"github.com:+443\": "
	    "the port must be a number from 1 to 65535, no leading zero");
	CHECK_STR(parse("github.com:443x"), "egress entry \"github.com:443x\": "
	    "the port must be a number from 1 to 65535, no leading zero");
	CHECK_STR(parse("@gitlab"), "egress entry \"@gitlab\": no such preset; "
	    "the presets are @anthropic @github @npm @pypi (a preset has no "
	    "port)");
	CHECK_STR(parse("@github:443"), "egress entry \"@github:443\": no such "
	    "preset; the presets are @anthropic @github @npm @pypi (a preset "
	    "has no port)");
	CHECK_STR(parse("under_score.com:443"), "egress entry "
	    "\"under_score.com:443\": a name holds only letters, digits, '-' "
	    "and '.'");
	CHECK_STR(parse("*:443"), "egress entry \"*:443\": a name holds only "
	    "letters, digits, '-' and '.'");
	CHECK_STR(parse("*github.com:443"), "egress entry \"*github.com:443\": "
	    "a name holds only letters, digits, '-' and '.'");
	CHECK_STR(parse("a.*.com:443"), "egress entry \"a.*.com:443\": a name "
	    "holds only letters, digits, '-' and '.'");
	CHECK_STR(parse("*.10.0.0.1:443"), "egress entry \"*.10.0.0.1:443\": "
	    "'*.' needs a domain name, not an address");
	CHECK_STR(parse("*.[::1]:443"), "egress entry \"*.[::1]:443\": '*.' "
	    "needs a domain name, not an address");
	CHECK_STR(parse("-a.com:1"), "egress entry \"-a.com:1\": a label "
	    "starts with '-'");
	CHECK_STR(parse("a-.com:1"), "egress entry \"a-.com:1\": a label ends "
	    "with '-'");
	CHECK_STR(parse("a.com-:1"), "egress entry \"a.com-:1\": a label ends "
	    "with '-'");
	CHECK_STR(parse("a..com:1"), "egress entry \"a..com:1\": the name has "
	    "an empty label");
	CHECK_STR(parse(".a.com:1"), "egress entry \".a.com:1\": the name has "
	    "an empty label");
	CHECK_STR(parse("a.com..:1"), "egress entry \"a.com..:1\": the name "
	    "has an empty label");
	CHECK_STR(parse("GitHub.Com"), "egress entry \"GitHub.Com\": no port; "
	    "write \"github.com:443\" for https");
	CHECK_STR(parse("caf\xc3\xa9.com"), "egress entry \"caf\\xc3\\xa9.com\": "
	    "a name holds only letters, digits, '-' and '.'");
	CHECK_STR(parse(":1"), "egress entry \":1\": the host is empty");
	CHECK_STR(parse(".:1"), "egress entry \".:1\": the host is empty");
	CHECK_STR(parse("127.1:80"), "egress entry \"127.1:80\": an IPv4 "
	    "address must be written as four decimal numbers without leading "
	    "zeros (a.b.c.d); other spellings read differently in different "
	    "clients");
	CHECK_STR(parse("::1:80"), "egress entry \"::1:80\": an IPv6 address "
	    "must be in brackets, [v6]:port");
	CHECK_STR(parse("[fe80::1%eth0]:80"), "egress entry "
	    "\"[fe80::1%eth0]:80\": a zone id (%) is not allowed");
	CHECK_STR(parse("[::1]"), "egress entry \"[::1]\": no port");
	CHECK_STR(parse("[::1]x:1"), "egress entry \"[::1]x:1\": only :port "
	    "may follow ']'");
	CHECK_STR(parse("[::1:80"), "egress entry \"[::1:80\": '[' without "
	    "']'");
	CHECK_STR(parse("[1.2.3.4]:80"), "egress entry \"[1.2.3.4]:80\": not "
	    "an IPv6 address between the brackets");
	CHECK_STR(parse("u@github.com:443"), "egress entry "
	    "\"u@github.com:443\": userinfo (user@) is not allowed");
	CHECK_STR(parse("caf\xc3\xa9.com:443"), "egress entry "
	    "\"caf\\xc3\\xa9.com:443\": a name holds only letters, digits, "
	    "'-' and '.'");

	/* Lengths: 63 per label, 253 per name, the trailing dot aside. */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".com:1");
	CHECK_STR(parse(buf), "");
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".com:1");
	CHECK(strstr(parse(buf), "a label is longer than 63 bytes") != NULL);
	for (o = 0; o < 253; o += 2)
		memcpy(buf + o, "a.", 2);
	o = 253;			/* 127 labels "a", dot-separated */
	strcpy(buf + o, ".:1");
	CHECK_STR(parse(buf), "");
	CHECK(strlen(list.entries[0].host) == 253);
	strcpy(buf + o, "a:1");
	CHECK(strstr(parse(buf), "the name is longer than 253 bytes") != NULL);

	/* The count is bounded after presets are expanded. */
	o = 0;
	for (i = 1; i <= EGRESS_MAX_ENTRIES; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "h:%zu ", i);
	CHECK_STR(parse(big), "");
	CHECK(list.n == EGRESS_MAX_ENTRIES);
	snprintf(big + o, sizeof(big) - o, "h:1 @npm");
	CHECK_STR(parse(big), "egress: more than 256 entries, presets counted "
	    "as the entries they stand for");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_STR(parse(big), "egress: the value is longer than 65536 bytes");
}

static void
test_targets(void)
{
	CHECK_STR(parse("github.com:443 *.githubusercontent.com:443 "
	    "127.0.0.1:8443 [::1]:8443 localhost:8443"), "");

	CHECK(allowed("github.com:443"));
	CHECK_STR(dec.reason, "egress: github.com:443 allowed by "
	    "\"github.com:443\"");
	CHECK(tgt.kind == EGRESS_NAME && tgt.port == 443);
	CHECK(allowed("GitHub.Com.:443"));
	CHECK_STR(tgt.host, "github.com");
	CHECK_STR(refusal("github.com..:443"), "egress: \"github.com..:443\" is "
	    "refused: the name has an empty label");
	CHECK(allowed("raw.githubusercontent.com:443"));
	CHECK(allowed("a.b.c.githubusercontent.com:443"));
	CHECK_STR(dec.reason, "egress: a.b.c.githubusercontent.com:443 allowed "
	    "by \"*.githubusercontent.com:443\"");
	CHECK(allowed("127.0.0.1:8443"));
	CHECK(tgt.kind == EGRESS_IPV4);
	CHECK(allowed("[::1]:8443"));
	CHECK(allowed("[0:0::0:1]:8443"));
	CHECK_STR(tgt.host, "::1");

	/* Not listed: the reason names the host and the key. */
	CHECK_STR(refusal("github.com:444"), "egress: github.com:444 is not in "
	    "agent claude's egress list; add \"github.com:444\" to [agent "
	    "\"claude\"] egress");
	CHECK_STR(dec.rule, "not-listed");
	CHECK_STR(refusal("[::1]:443"), "egress: [::1]:443 is not in agent "
	    "claude's egress list; add \"[::1]:443\" to [agent \"claude\"] "
	    "egress");
	/* *.domain is not the domain, nor a look-alike. */
	CHECK(!allowed("githubusercontent.com:443"));
	CHECK(!allowed("evilgithubusercontent.com:443"));
	CHECK(!allowed("githubusercontent.com.evil.com:443"));
	CHECK(!allowed("api.github.com:443"));
	CHECK(!allowed("github.com.evil.com:443"));
	/* A name never matches an address entry, nor across families. */
	CHECK(!allowed("127.0.0.2:8443"));
	CHECK(!allowed("[::ffff:127.0.0.1]:8443"));
	CHECK(!allowed("[::127.0.0.1]:8443"));
	CHECK(!allowed("[::2]:8443"));

	/* Every spelling of 127.0.0.1 but the one. */
	CHECK_STR(refusal("2130706433:8443"), "egress: \"2130706433:8443\" is "
	    "refused: an IPv4 address must be written as four decimal numbers "
	    "without leading zeros (a.b.c.d); other spellings read differently "
	    "in different clients");
	CHECK_STR(dec.rule, "bad-target");
	CHECK(!allowed("0177.0.0.1:8443"));
	CHECK(!allowed("0x7f.1:8443"));
	CHECK(!allowed("0x7f.0.0.1:8443"));
	CHECK(!allowed("0X7F000001:8443"));
	CHECK(!allowed("127.1:8443"));
	CHECK(!allowed("127.0.1:8443"));
	CHECK(!allowed("127.0.0.01:8443"));
	CHECK(allowed("127.0.0.1.:8443"));	/* the trailing dot dropped */
	CHECK(!allowed("127.0.0.1.0:8443"));
	CHECK(!allowed("127.0.0.1..:8443"));
	CHECK(!allowed("127.0.0.256:8443"));
	CHECK(!allowed("0x:8443"));
	CHECK(!allowed("a.0x1f:8443"));
	CHECK(!allowed("a.123:8443"));
	/* A number inside a name is fine; only the last label decides. */
	CHECK_STR(parse("1password.com:443 0x7f.example:443"), "");
	CHECK(allowed("1password.com:443"));
	CHECK(allowed("0x7f.example:443"));
	CHECK(!allowed("example.0x7f:443"));

	CHECK_STR(parse("github.com:443 [fe80::1]:80"), "");
	CHECK_STR(refusal("[fe80::1%eth0]:80"), "egress: \"[fe80::1%eth0]:80\" "
	    "is refused: a zone id (%) is not allowed");
	CHECK_STR(refusal("[fe80::1%25eth0]:80"), "egress: "
	    "\"[fe80::1%25eth0]:80\" is refused: a zone id (%) is not allowed");
	CHECK(allowed("[fe80::1]:80"));
	CHECK_STR(refusal("user@github.com:443"), "egress: "
	    "\"user@github.com:443\" is refused: userinfo (user@) is not "
	    "allowed");
	CHECK(!allowed("user:pw@github.com:443"));
	CHECK_STR(refusal("github.com"), "egress: \"github.com\" is refused: "
	    "no port");
	CHECK(!allowed("github.com:"));
	CHECK(!allowed(":443"));
	CHECK(!allowed(""));
	CHECK(!allowed("github.com:443:443"));
	CHECK(!allowed("github.com:443/"));
	CHECK(!allowed("github.com :443"));
	CHECK(!allowed("github.com:+443"));
	CHECK(!allowed("github.com:00443"));
	CHECK(!allowed("github.com:1443"));
	CHECK(!allowed("*.github.com:443"));
	CHECK(!allowed("git_hub.com:443"));
	CHECK(!allowed("github.com\t:443"));
	CHECK_STR(refusal("git\x01hub.com\":443"), "egress: "
	    "\"git\\x01hub.com\\x22:443\" is refused: a name holds only "
	    "letters, digits, '-' and '.'");
	CHECK(!allowed("github%2ecom:443"));
	CHECK(!allowed("[github.com]:443"));
	CHECK(!allowed("[::1]"));
	CHECK(!allowed("[]:443"));
	CHECK(!allowed("::1:443"));

	/* Overlong: refused before anything else, the message cut short. */
	{
		char	long_[1024];

		memset(long_, 'a', sizeof(long_) - 1);
		long_[sizeof(long_) - 1] = '\0';
		CHECK(!allowed(long_));
		CHECK(strstr(dec.reason, "longer than any host:port") != NULL);
		CHECK(strlen(dec.reason) < 200);
	}

	/* An empty list allows nothing. */
	CHECK_STR(parse(""), "");
	CHECK(!allowed("github.com:443"));
}

static void
test_classes(void)
{
	CHECK_STR(class_of("8.8.8.8"), "public");
	CHECK_STR(class_of("140.82.121.4"), "public");
	CHECK_STR(class_of("0.0.0.0"), "unspecified");
	CHECK_STR(class_of("0.1.2.3"), "unspecified");
	CHECK_STR(class_of("127.0.0.1"), "loopback");
	CHECK_STR(class_of("127.255.255.254"), "loopback");
	CHECK_STR(class_of("10.1.2.3"), "private");
	CHECK_STR(class_of("172.16.0.1"), "private");
	CHECK_STR(class_of("172.31.255.255"), "private");
	CHECK_STR(class_of("172.32.0.1"), "public");
	CHECK_STR(class_of("172.15.255.255"), "public");
	CHECK_STR(class_of("192.168.1.1"), "private");
	CHECK_STR(class_of("100.64.0.1"), "private");
	CHECK_STR(class_of("100.127.255.255"), "private");
	CHECK_STR(class_of("100.128.0.1"), "public");
	CHECK_STR(class_of("100.63.255.255"), "public");
	CHECK_STR(class_of("169.254.169.254"), "link-local");
	CHECK_STR(class_of("224.0.0.1"), "multicast");
	CHECK_STR(class_of("239.255.255.250"), "multicast");
	CHECK_STR(class_of("255.255.255.255"), "reserved");
	CHECK_STR(class_of("240.0.0.1"), "reserved");
	CHECK_STR(class_of("192.0.0.8"), "reserved");
	CHECK_STR(class_of("192.0.2.1"), "reserved");
	CHECK_STR(class_of("198.18.0.1"), "reserved");
	CHECK_STR(class_of("198.19.255.255"), "reserved");
	CHECK_STR(class_of("198.20.0.1"), "public");
	CHECK_STR(class_of("198.51.100.1"), "reserved");
	CHECK_STR(class_of("203.0.113.1"), "reserved");

	CHECK_STR(class_of("2606:4700::1111"), "public");
	CHECK_STR(class_of("::"), "unspecified");
	CHECK_STR(class_of("::1"), "loopback");
	CHECK_STR(class_of("::ffff:127.0.0.1"), "loopback");
	CHECK_STR(class_of("::ffff:10.0.0.1"), "private");
	CHECK_STR(class_of("::ffff:8.8.8.8"), "public");
	CHECK_STR(class_of("::127.0.0.1"), "loopback");
	CHECK_STR(class_of("::192.168.0.1"), "private");
	CHECK_STR(class_of("::ffff:0:127.0.0.1"), "loopback");
	CHECK_STR(class_of("64:ff9b::10.0.0.1"), "private");
	CHECK_STR(class_of("64:ff9b::8.8.8.8"), "public");
	CHECK_STR(class_of("64:ff9b:1::1"), "private");
	CHECK_STR(class_of("2002:7f00:1::"), "loopback");
	CHECK_STR(class_of("2002:808:808::"), "public");
	CHECK_STR(class_of("fc00::1"), "private");
	CHECK_STR(class_of("fd12:3456::1"), "private");
	CHECK_STR(class_of("fe80::1"), "link-local");
	CHECK_STR(class_of("febf::1"), "link-local");
	CHECK_STR(class_of("fec0::1"), "private");
	CHECK_STR(class_of("ff02::1"), "multicast");
	CHECK_STR(class_of("100::1"), "reserved");
	CHECK_STR(class_of("2001:db8::1"), "reserved");
	CHECK_STR(class_of("2001:0::1"), "reserved");
	CHECK_STR(class_of("2001:4860::8888"), "public");
	CHECK(egress_classify(AF_UNIX, "") == EGRESS_RESERVED);
}

static void
test_addresses(void)
{
	CHECK_STR(parse("github.com:443 localhost:8443 127.0.0.1:8443 "
	    "rebind.example:443 *.corp.example:443 10.0.0.7:443 [::1]:443 "
	    "[fd00::1]:443"), "");

	/* A listed name at a public address. */
	CHECK(addr_allowed("github.com:443", "140.82.121.4") == 1);
	CHECK(addr_allowed("github.com:443", "2606:50c0:8000::154") == 1);
	/* At a private one: refused, the reason saying what would allow it. */
	CHECK(addr_allowed("github.com:443", "127.0.0.1") == 0);
	CHECK_STR(dec.reason, "egress: github.com:443 resolves to 127.0.0.1, "
	    "a loopback address, refused so that a name cannot lead into the "
	    "host or its network; add \"127.0.0.1:443\" to [agent \"claude\"] "
	    "egress to allow it");
	CHECK_STR(dec.rule, "not-public");
	CHECK(addr_allowed("rebind.example:443", "169.254.169.254") == 0);
	CHECK(addr_allowed("rebind.example:443", "::ffff:127.0.0.1") == 0);
	CHECK(addr_allowed("rebind.example:443", "::1") == 1);
	CHECK(addr_allowed("rebind.example:443", "fd00::2") == 0);
	CHECK_STR(dec.reason, "egress: rebind.example:443 resolves to fd00::2, "
	    "a private address, refused so that a name cannot lead into the "
	    "host or its network; add \"[fd00::2]:443\" to [agent \"claude\"] "
	    "egress to allow it");
	CHECK(addr_allowed("rebind.example:443", "fd00::1") == 1);
	CHECK(addr_allowed("rebind.example:443", "0.0.0.0") == 0);
	CHECK(addr_allowed("rebind.example:443", "::") == 0);
	CHECK(addr_allowed("rebind.example:443", "224.0.0.1") == 0);
	CHECK(addr_allowed("rebind.example:443", "10.0.0.7") == 1);
	CHECK(addr_allowed("rebind.example:443", "10.0.0.8") == 0);
	CHECK(addr_allowed("a.corp.example:443", "10.0.0.7") == 1);
	CHECK(addr_allowed("a.corp.example:443", "10.0.0.6") == 0);
	/* The address is listed, but with another port. */
	CHECK(addr_allowed("localhost:8443", "127.0.0.1") == 1);
	CHECK_STR(dec.reason, "egress: localhost:8443 at 127.0.0.1 allowed by "
	    "\"127.0.0.1:8443\"");
	CHECK(addr_allowed("github.com:443", "127.0.0.1") == 0);
	CHECK(addr_allowed("localhost:8443", "::1") == 0);
	/* A listed literal connects to itself only. */
	CHECK(addr_allowed("127.0.0.1:8443", "127.0.0.1") == 1);
	CHECK(addr_allowed("127.0.0.1:8443", "127.0.0.2") == 0);
	CHECK(addr_allowed("[::1]:443", "::1") == 1);
	CHECK(addr_allowed("[::1]:443", "127.0.0.1") == 0);
	/* Not listed at all: the target step's answer again. */
	CHECK(addr_allowed("github.com:444", "140.82.121.4") == -1);
	tgt.port = 444;
	{
		struct in_addr	a;

		inet_pton(AF_INET, "140.82.121.4", &a);
		CHECK(egress_check_address(&list, "claude", &tgt, AF_INET, &a,
		    &dec) == -1);
		CHECK_STR(dec.rule, "not-listed");
		CHECK(egress_check_address(&list, "claude", &tgt, AF_UNIX, &a,
		    &dec) == -1);
	}

	/* A preset entry says it came from the preset. */
	CHECK_STR(parse("@github"), "");
	CHECK(addr_allowed("raw.githubusercontent.com:443", "185.199.108.133")
	    == 1);
	CHECK_STR(dec.reason, "egress: raw.githubusercontent.com:443 allowed "
	    "by @github (*.githubusercontent.com:443)");
	CHECK(addr_allowed("github.com:22", "140.82.121.4") == 1);
	CHECK(addr_allowed("gist.github.com:443", "140.82.121.4") == -1);
}

int
main(void)
{
	test_list();
	test_targets();
	test_classes();
	test_addresses();
	return check_done("egress-policy");
}
