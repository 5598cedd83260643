/*
 * Secret rules: the secret key's grammar and its hosts as egress-policy.c
 * normalises them, the secret-repos and secret-push-refs words, and the
 * scope of a request and of a pushed ref, with the spellings an agent
 * would try to carry the token to another repository.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "secret-rule.h"

static struct secret_rule	rule;
static char			err[512];

/* Parse value into rule; the error, or "" if it parsed. */
static const char *
parse(const char *value)
{
	if (secret_rule_parse(value, &rule, err, sizeof(err)) == 0)
		return "";
	CHECK(rule.nhosts == 0 && rule.name[0] == '\0');
	CHECK(err[0] != '\0');
	return err;
}

static int
contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

static void
test_rule(void)
{
	char	big[8192];
	size_t	i;

	CHECK_STR(parse("GH_TOKEN github.com api.github.com"), "");
	CHECK_STR(rule.name, "GH_TOKEN");
	CHECK(rule.nhosts == 2);
	CHECK_STR(rule.hosts[0], "github.com:443");
	CHECK_STR(rule.hosts[1], "api.github.com:443");

	/* Normalised as the egress policy does; duplicates count once. */
	CHECK_STR(parse("  T\tGitHub.COM. github.com:443 github.com\n"), "");
	CHECK(rule.nhosts == 1);
	CHECK_STR(rule.hosts[0], "github.com:443");
	CHECK_STR(parse("_X ghe.example:8443 10.0.0.1 [::1] [2001:DB8::1]:8443"),
	    "");
	CHECK(rule.nhosts == 4);
	CHECK_STR(rule.hosts[0], "ghe.example:8443");
	CHECK_STR(rule.hosts[1], "10.0.0.1:443");
	CHECK_STR(rule.hosts[2], "[::1]:443");
	CHECK_STR(rule.hosts[3], "[2001:db8::1]:8443");
	CHECK_STR(parse("A1 a b c d e f g h"), "");
	CHECK(rule.nhosts == SECRET_MAX_HOSTS);
	CHECK_STR(parse("A1 a b c d e f g h a:443 H."), "");

	/* The name. */
	CHECK(contains(parse("gh_token github.com"), "\"gh_token\""));
	CHECK(contains(parse("1X github.com"), "\"1X\""));
	CHECK(contains(parse("GH-TOKEN github.com"), "\"GH-TOKEN\""));
	CHECK(contains(parse("GH=x github.com"), "\"GH=x\""));
	memset(big, 'A', 64);
	big[64] = '\0';
	CHECK(contains(parse(big), "at most 63"));
	strcpy(big + 62, " A");		/* 62 A, then host "A" */
	CHECK_STR(parse(big), "");
	CHECK(strlen(rule.name) == 62);
	CHECK_STR(rule.hosts[0], "a:443");
	memset(big, 'A', 63);
	strcpy(big + 63, " x");
	CHECK_STR(parse(big), "");
	CHECK(strlen(rule.name) == 63);

	/* Hosts. */
	CHECK(contains(parse(""), "empty"));
	CHECK(contains(parse(NULL), "empty"));
	CHECK(contains(parse(" \t "), "empty"));
	CHECK(contains(parse("GH_TOKEN"), "no host"));
	CHECK(contains(parse("GH_TOKEN *.github.com"), "\"*.github.com\""));
	CHECK(contains(parse("GH_TOKEN github.com:0"), "\"github.com:0\""));
	CHECK(contains(parse("GH_TOKEN github.com:"), "no port"));
	CHECK(contains(parse("GH_TOKEN ::1"), "brackets"));
	CHECK(contains(parse("GH_TOKEN [::1]x"), "\"[::1]x\""));
	CHECK(contains(parse("GH_TOKEN [fe80::1%eth0]"), "zone"));
	CHECK(contains(parse("GH_TOKEN a@github.com"), "userinfo"));
	CHECK(contains(parse("GH_TOKEN 127.1"), "four decimal"));
	CHECK(contains(parse("GH_TOKEN 2130706433"), "\"2130706433\""));
	CHECK(contains(parse("GH_TOKEN gith\xc3\xbc""b.com"),
	    "\"gith\\xc3\\xbcb.com\""));
	CHECK(contains(parse("GH_TOKEN https://github.com"), "https"));
	CHECK(contains(parse("GH_TOKEN a b c d e f g h i"), "more than 8"));
	CHECK(contains(parse("GH_TOKEN a b c d e f g h i"), "\"i\""));
	for (i = 0; i < 300; i++)
		big[i] = 'a';
	strcpy(big + 300, ".com");
	CHECK(contains(parse(big), "at most 63"));
	memcpy(big, "GH_TOKEN ", 9);
	CHECK(contains(parse(big), "longer"));
}

static void
test_covers(void)
{
	CHECK_STR(parse("GH_TOKEN github.com api.github.com:443 [::1]:8443 "
	    "10.1.2.3:8443"), "");
	CHECK(secret_rule_covers(&rule, "github.com:443"));
	CHECK(secret_rule_covers(&rule, "api.github.com:443"));
	CHECK(secret_rule_covers(&rule, "GitHub.com.:443"));
	CHECK(secret_rule_covers(&rule, "[::1]:8443"));
	CHECK(secret_rule_covers(&rule, "[0::1]:8443"));
	CHECK(secret_rule_covers(&rule, "10.1.2.3:8443"));
	CHECK(!secret_rule_covers(&rule, "github.com:80"));
	CHECK(!secret_rule_covers(&rule, "github.com"));
	CHECK(!secret_rule_covers(&rule, "gist.github.com:443"));
	CHECK(!secret_rule_covers(&rule, "evilgithub.com:443"));
	CHECK(!secret_rule_covers(&rule, "github.com.evil:443"));
	CHECK(!secret_rule_covers(&rule, "[::1]:443"));
	CHECK(!secret_rule_covers(&rule, "[::ffff:10.1.2.3]:8443"));
	CHECK(!secret_rule_covers(&rule, "10.1.2.03:8443"));
	CHECK(!secret_rule_covers(&rule, "a@github.com:443"));
	CHECK(!secret_rule_covers(&rule, ""));
	CHECK(!secret_rule_covers(&rule, NULL));
	CHECK(!secret_rule_covers(NULL, "github.com:443"));
}

static const char *
repo(const char *word)
{
	if (secret_repo_check(word, err, sizeof(err)) == 0)
		return "";
	CHECK(err[0] != '\0');
	return err;
}

static const char *
ref(const char *word)
{
	if (secret_ref_check(word, err, sizeof(err)) == 0)
		return "";
	CHECK(err[0] != '\0');
	return err;
}

static void
test_words(void)
{
	char	big[256];

	CHECK_STR(repo("octo/hello-world"), "");
	CHECK_STR(repo("Octo-Org/Hello_World.js"), "");
	CHECK_STR(repo("octo/*"), "");
	CHECK_STR(repo("a/b"), "");
	CHECK_STR(repo("a/.b"), "");
	CHECK(contains(repo("octo"), "OWNER/REPO"));
	CHECK(contains(repo("octo"), "\"octo\""));
	CHECK(contains(repo(""), "OWNER/REPO"));
	CHECK(contains(repo(NULL), "OWNER/REPO"));
	CHECK(contains(repo("/r"), "owner is empty"));
	CHECK(contains(repo("o/"), "repository is empty"));
	CHECK(contains(repo("o/r/x"), "one '/'"));
	CHECK(contains(repo("o/r.git"), ".git"));
	CHECK(contains(repo("o/r.git"), "\"o/r.git\""));
	CHECK(contains(repo("./r"), "\".\""));
	CHECK(contains(repo("../r"), "\".\""));
	CHECK(contains(repo("o/.."), "\".\""));
	CHECK(contains(repo("o/."), "\".\""));
	CHECK(contains(repo("*/*"), "owner"));
	CHECK(contains(repo("o/r*"), "'*' only alone"));
	CHECK(contains(repo("o/**"), "'*' only alone"));
	CHECK(contains(repo("o/r%2e"), "holds a byte"));
	CHECK(contains(repo("o/r x"), "holds a byte"));
	CHECK(contains(repo("o\\x/r"), "holds a byte"));
	CHECK(contains(repo("o/r\xc3\xa9"), "\\xc3\\xa9"));
	memset(big, 'r', 103);
	memcpy(big, "o/", 2);
	big[103] = '\0';
	CHECK(contains(repo(big), "longer than 100"));
	big[102] = '\0';
	CHECK_STR(repo(big), "");

	CHECK_STR(ref("refs/heads/agent/claude/*"), "");
	CHECK_STR(ref("refs/heads/main"), "");
	CHECK_STR(ref("refs/heads/agent-*"), "");
	CHECK_STR(ref("refs/*"), "");
	CHECK_STR(ref("refs/tags/v1.0"), "");
	CHECK_STR(ref("refs/heads/a.lockx"), "");
	CHECK_STR(ref("refs/heads/a.lock*"), "");
	CHECK_STR(ref("refs/heads/a@b"), "");
	CHECK(contains(ref("heads/main"), "refs/"));
	CHECK(contains(ref("refs"), "refs/"));
	CHECK(contains(ref(""), "refs/"));
	CHECK(contains(ref(NULL), "refs/"));
	CHECK(contains(ref("refs/"), "ends with '/'"));
	CHECK(contains(ref("refs/heads/"), "ends with '/'"));
	CHECK(contains(ref("refs/heads/a."), "ends with '.'"));
	CHECK(contains(ref("refs/heads/a.lock"), ".lock"));
	CHECK(contains(ref("refs/heads/a.lock/b"), ".lock"));
	CHECK(contains(ref("refs/heads/../main"), ".."));
	CHECK(contains(ref("refs/heads/a..b"), ".."));
	CHECK(contains(ref("refs/heads//a"), "//"));
	CHECK(contains(ref("refs/heads/.a"), "starts with '.'"));
	CHECK(contains(ref("refs/heads/.*"), "starts with '.'"));
	CHECK(contains(ref("refs/heads/a b"), "space"));
	CHECK(contains(ref("refs/heads/a~1"), "space"));
	CHECK(contains(ref("refs/heads/a^"), "space"));
	CHECK(contains(ref("refs/heads/a:b"), "space"));
	CHECK(contains(ref("refs/heads/a?"), "space"));
	CHECK(contains(ref("refs/heads/a[b"), "space"));
	CHECK(contains(ref("refs/heads/a\\b"), "space"));
	CHECK(contains(ref("refs/heads/a@{1}"), "@{"));
	CHECK(contains(ref("refs/heads/a\tb"), "control"));
	CHECK(contains(ref("refs/heads/a\x7f"), "control"));
	CHECK(contains(ref("refs/heads/*/x"), "'*' may only be the last"));
	CHECK(contains(ref("refs/heads/**"), "'*' may only be the last"));
	CHECK(contains(ref("refs/heads/a\nb"), "\"refs/heads/a\\x0ab\""));
}

static char *const	allowed_repos[] = {
	"octo/hello", "Team/*", NULL
};
static char *const	no_repos[] = { NULL };
static char		why[768];

/* 0 if method target may carry the secret under allowed_repos. */
static int
scope(const char *method, const char *target)
{
	int	r;

	why[0] = 'x';
	why[1] = '\0';
	r = secret_scope_request(method, target, allowed_repos, "claude",
	    why, sizeof(why));
	if (r == 0)
		CHECK(why[0] == '\0');
	else {
		size_t	i;

		CHECK(r == -1);
		CHECK(why[0] != '\0');
		CHECK(contains(why, "[agent \"claude\"] secret-repos"));
		for (i = 0; why[i] != '\0'; i++)
			CHECK((unsigned char)why[i] >= 0x20 &&
			    (unsigned char)why[i] < 0x7f);
	}
	return r;
}

static void
test_scope_request(void)
{
	/* No limit: any origin-form request. */
	CHECK(secret_scope_request("POST", "/graphql", NULL, "claude", why,
	    sizeof(why)) == 0);
	CHECK(secret_scope_request("POST", "/graphql", no_repos, "claude",
	    why, sizeof(why)) == 0);
	CHECK(secret_scope_request("GET", "https://api.github.com/user", NULL,
	    "claude", why, sizeof(why)) == -1);

	/* The REST API. */
	CHECK(scope("GET", "/repos/octo/hello") == 0);
	CHECK(scope("GET", "/repos/octo/hello/") == 0);
	CHECK(scope("POST", "/repos/octo/hello/pulls") == 0);
	CHECK(scope("GET", "/repos/OCTO/Hello/issues?state=open") == 0);
	CHECK(scope("GET", "/repos/octo/hello?x=/repos/evil/r") == 0);
	CHECK(scope("GET", "/api/v3/repos/octo/hello/commits") == 0);
	CHECK(scope("DELETE", "/repos/team/anything/git/refs/heads/x") == 0);
	CHECK(scope("GET", "/repos/octo/hello/contents/a/b.c:~!$&'()*+,=@")
	    == 0);
	CHECK(scope("GET", "/repos/octo/other") == -1);
	CHECK(contains(why, "repository octo/other is not in agent claude's "
	    "secret-repos; add \"octo/other\" to [agent \"claude\"] "
	    "secret-repos"));
	CHECK(scope("GET", "/repos/evil/hello") == -1);
	CHECK(scope("GET", "/repos/octo") == -1);
	CHECK(contains(why, "names no repository"));
	CHECK(scope("GET", "/repos/octo/") == -1);
	CHECK(scope("GET", "/repos") == -1);
	CHECK(scope("GET", "/repos/") == -1);
	CHECK(scope("GET", "/repos/octo/hello.git") == -1);
	CHECK(scope("GET", "/repos/octo/hello./issues") == -1);
	CHECK(scope("GET", "/repos/octo./hello") == -1);
	CHECK(scope("GET", "/repos/octo/hello-") == -1);
	CHECK(scope("GET", "/Repos/octo/hello") == -1);
	CHECK(scope("GET", "/REPOS/octo/hello") == -1);

	/* git over https, and the web. */
	CHECK(scope("GET", "/octo/hello.git/info/refs?service=git-upload-pack")
	    == 0);
	CHECK(scope("POST", "/octo/hello.git/git-receive-pack") == 0);
	CHECK(scope("POST", "/octo/hello/git-upload-pack") == 0);
	CHECK(scope("GET", "/Octo/HELLO.git/info/refs") == 0);
	CHECK(scope("GET", "/team/x") == 0);
	CHECK(scope("GET", "/api/v3/team/x.git/info/refs") == 0);
	CHECK(scope("GET", "/octo/hello.GIT/info/refs") == -1);
	CHECK(scope("GET", "/octo/hello.git.git/info/refs") == -1);
	CHECK(scope("GET", "/octo/.git/info/refs") == -1);
	CHECK(scope("GET", "/octo/other.git/info/refs") == -1);
	CHECK(contains(why, "octo/other is not"));
	CHECK(scope("GET", "/octo") == -1);
	CHECK(scope("GET", "/") == -1);
	CHECK(scope("GET", "/evil/hello.git/info/refs") == -1);

	/* Account reads: GET and HEAD only, the words exactly. */
	CHECK(scope("GET", "/user") == 0);
	CHECK(scope("HEAD", "/user") == 0);
	CHECK(scope("GET", "/user/") == 0);
	CHECK(scope("GET", "/user/repos?per_page=100") == 0);
	CHECK(scope("GET", "/user/emails") == 0);
	CHECK(scope("GET", "/rate_limit") == 0);
	CHECK(scope("GET", "/meta") == 0);
	CHECK(scope("GET", "/octocat?s=hi") == 0);
	CHECK(scope("GET", "/zen") == 0);
	CHECK(scope("GET", "/api/v3/user") == 0);
	CHECK(scope("GET", "/api/v3/rate_limit") == 0);
	CHECK(scope("POST", "/user/repos") == -1);
	CHECK(contains(why, "\"POST\" \"/user/repos\" names no repository"));
	CHECK(scope("PATCH", "/user") == -1);
	CHECK(scope("DELETE", "/user/emails") == -1);
	CHECK(scope("get", "/user") == -1);
	CHECK(scope("", "/user") == -1);
	CHECK(scope(NULL, "/user") == -1);
	CHECK(scope("GET", "/User") == -1);
	CHECK(scope("GET", "/USER/repos") == -1);
	CHECK(scope("GET", "/meta/x") == -1);
	CHECK(scope("GET", "/Meta") == -1);
	CHECK(scope("GET", "/zen/") == -1);
	CHECK(scope("GET", "/users/octo/repos") == -1);
	CHECK(scope("GET", "/orgs/team/repos") == -1);

	/* Anything else. */
	CHECK(scope("POST", "/graphql") == -1);
	CHECK(contains(why, "\"/graphql\""));
	CHECK(scope("GET", "/gists") == -1);
	CHECK(scope("GET", "/search/code?q=x") == -1);
	CHECK(scope("GET", "/notifications") == -1);
	CHECK(scope("GET", "/api/graphql") == -1);
	CHECK(scope("GET", "/api/v3") == -1);
	CHECK(scope("GET", "/api/v3/") == -1);
	CHECK(scope("GET", "/api/v3/api/v3/repos/octo/hello") == -1);
	CHECK(scope("GET", "/api/v3/api/v3/user") == -1);
	CHECK(scope("GET", "/API/V3/repos/octo/hello") == -1);

	/* Spellings another reader may take for another repository. */
	CHECK(scope("GET", "//repos/octo/hello") == -1);
	CHECK(contains(why, "empty segment"));
	CHECK(scope("GET", "/repos//octo/hello") == -1);
	CHECK(scope("GET", "/repos/octo//hello") == -1);
	CHECK(scope("GET", "/repos/octo/hello//x") == -1);
	CHECK(scope("GET", "//evil/r") == -1);
	CHECK(scope("GET", "/./repos/octo/hello") == -1);
	CHECK(contains(why, "\".\" or \"..\""));
	CHECK(scope("GET", "/repos/./octo/hello") == -1);
	CHECK(scope("GET", "/repos/octo/hello/..") == -1);
	CHECK(scope("GET", "/repos/octo/hello/../../evil/r") == -1);
	CHECK(scope("GET", "/repos/octo/hello/./x") == -1);
	CHECK(scope("GET", "/octo/hello/../../evil/r.git/info/refs") == -1);
	CHECK(scope("GET", "/user/../repos/evil/r") == -1);
	CHECK(scope("GET", "/repos/octo/hello%2f..%2f..%2fevil%2fr") == -1);
	CHECK(contains(why, "'%'"));
	CHECK(scope("GET", "/repos/%6fcto/hello") == -1);
	CHECK(scope("GET", "/%72epos/octo/hello") == -1);
	CHECK(scope("GET", "/repos/octo\\hello") == -1);
	CHECK(scope("GET", "/repos\\evil/r") == -1);
	CHECK(scope("GET", "/repos/octo/hello;/../evil/r") == -1);
	CHECK(scope("GET", "/repos/octo;x=1/hello") == -1);
	CHECK(scope("GET", "/repos/octo/hello#/../../evil/r") == -1);
	CHECK(scope("GET", "/repos/octo/hell\xc3\xb6") == -1);
	CHECK(contains(why, "\\xc3\\xb6"));
	CHECK(scope("GET", "/repos/\xe2\x80\xae""octo/hello") == -1);
	CHECK(scope("GET", "/repos/octo/hello\r\nHost: evil") == -1);
	CHECK(scope("GET", "/repos/octo/hello x") == -1);
	CHECK(scope("GET", "/repos/octo/hello\t") == -1);
	CHECK(scope("GET", "https://api.github.com/repos/octo/hello") == -1);
	CHECK(contains(why, "origin-form"));
	CHECK(scope("GET", "api.github.com/repos/octo/hello") == -1);
	CHECK(scope("OPTIONS", "*") == -1);
	CHECK(scope("GET", "") == -1);
	CHECK(scope("GET", NULL) == -1);
	CHECK(scope("GET", "?/repos/octo/hello") == -1);
	CHECK(scope("GET", "/?/repos/octo/hello") == -1);
	CHECK(scope("GET", "/api/v3?/repos/octo/hello") == -1);
	CHECK(scope("GET", "/api/v3//repos/octo/hello") == -1);
	CHECK(scope("GET", "/repos/octo/hello:evil") == -1);
	CHECK(scope("GET", "/repos/octo/@evil") == -1);
	CHECK(scope("GET", "/team") == -1);
	CHECK(scope("GET", "/teamx/r") == -1);
	CHECK(scope("GET", "/tea/r") == -1);
	CHECK(scope("GET", "/octo/hello2") == -1);
	CHECK(scope("GET", "/octo/hell") == -1);
}

static void
test_long(void)
{
	static char	t[20000];

	memcpy(t, "/repos/octo/hello/", 18);
	memset(t + 18, 'a', sizeof(t) - 19);
	t[sizeof(t) - 1] = '\0';
	CHECK(scope("GET", t) == -1);
	CHECK(contains(why, "longer"));
	CHECK(strlen(why) < 400);
	t[16000] = '\0';
	CHECK(scope("GET", t) == 0);
}

static char *const	push_refs[] = {
	"refs/heads/agent/claude/*", "refs/tags/v1", NULL
};

static void
test_scope_ref(void)
{
	CHECK(secret_scope_ref("refs/heads/main", NULL) == 0);
	CHECK(secret_scope_ref("refs/heads/main", no_repos) == 0);
	CHECK(secret_scope_ref("refs/heads/agent/claude/x", push_refs) == 0);
	CHECK(secret_scope_ref("refs/heads/agent/claude/x/y", push_refs) == 0);
	CHECK(secret_scope_ref("refs/tags/v1", push_refs) == 0);
	CHECK(secret_scope_ref("refs/tags/v10", push_refs) == -1);
	CHECK(secret_scope_ref("refs/tags/v", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/main", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/agent/claude", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/agent/claudex/y", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/agent/Claude/x", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/Agent/claude/x", push_refs) == -1);
	CHECK(secret_scope_ref("refs/Tags/v1", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/agent/claude/../../main",
	    push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/agent/claude/x.lock", push_refs)
	    == -1);
	CHECK(secret_scope_ref("refs/heads/agent/claude//x", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/agent/claude/*", push_refs) == -1);
	CHECK(secret_scope_ref("refs/heads/agent/claude/", push_refs) == -1);
	CHECK(secret_scope_ref("", push_refs) == -1);
	CHECK(secret_scope_ref(NULL, push_refs) == -1);
}

int
main(void)
{
	test_rule();
	test_covers();
	test_words();
	test_scope_request();
	test_long();
	test_scope_ref();
	return check_done("secret-rule");
}
