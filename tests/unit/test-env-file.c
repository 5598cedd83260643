/*
 * The env-file, read once for the container and for the secrets: its
 * lines as they are, its limits, never a wait on what is not a regular
 * file; and the secrets kept from it (secret-store.h) only for the names
 * declared, only from a file nobody else may read, the old ones kept
 * when a new load fails.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "env-file.h"
#include "secret-store.h"

static char	dir[] = "/tmp/qmsd-test-env-file.XXXXXX";
static char	path[512];

static void
write_file(const char *text, mode_t mode)
{
	FILE	*f;

	unlink(path);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char **
parse(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return (env_file_parse(text, strlen(text), "e.env", err, errlen));
}

int
main(void)
{
	char		 err[512], big[8192], fifo[600], **env;
	char		*secrets[] = { "GH_TOKEN github.com", "B_TOKEN x.test",
			    NULL };
	struct config	 conf;
	struct stat	 st;
	int		 i, n;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	snprintf(path, sizeof(path), "%s/a.env", dir);

	/* Lines as they are: comments, blanks and CRs gone, quotes kept. */
	env = parse("# c\nFOO=bar\n\nQ=\"x y\"\r\nEQ==a=b\nLAST=1", err,
	    sizeof(err));
	CHECK(env != NULL);
	if (env != NULL) {
		CHECK_STR(env[0], "FOO=bar");
		CHECK_STR(env[1], "Q=\"x y\"");
		CHECK_STR(env[2], "EQ==a=b");
		CHECK_STR(env[3], "LAST=1");
		CHECK(env[4] == NULL);
		CHECK_STR(env_file_get(env, "EQ"), "=a=b");
		CHECK(env_file_get(env, "E") == NULL);
		CHECK(env_file_get(env, "NOPE") == NULL);
	}
	env_file_free(env);
	/* A name given twice: the last, as Docker keeps it. */
	env = parse("A=1\nA=2\n", err, sizeof(err));
	CHECK(env != NULL && strcmp(env_file_get(env, "A"), "2") == 0);
	env_file_free(env);
	env = parse("", err, sizeof(err));
	CHECK(env != NULL && env[0] == NULL);
	env_file_free(env);

	CHECK(parse("A=1\nexport\n", err, sizeof(err)) == NULL);
	CHECK_STR(err, "e.env:2: not KEY=VALUE");
	CHECK(parse("=1\n", err, sizeof(err)) == NULL);
	CHECK_STR(err, "e.env:1: not KEY=VALUE");
	CHECK(env_file_parse("A=1\0B=2", 7, "e.env", err, sizeof(err)) ==
	    NULL);
	CHECK_STR(err, "env-file e.env: a NUL byte; it is not a text file");
	n = 0;
	for (i = 0; i < 65; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "V%d=x\n", i);
	CHECK(parse(big, err, sizeof(err)) == NULL);
	CHECK_STR(err, "e.env:65: more than 64 variables");
	big[0] = 'A';
	big[1] = '=';
	memset(big + 2, 'x', 4094);
	big[4096] = '\0';
	CHECK(parse(big, err, sizeof(err)) == NULL);
	CHECK_STR(err, "e.env:1: longer than 4095 bytes");
	big[4095] = '\0';
	env = parse(big, err, sizeof(err));
	CHECK(env != NULL);
	env_file_free(env);

	/* From a file: a regular one only, never waited on. */
	write_file("FOO=bar\n", 0600);
	env = env_file_read(path, &st, err, sizeof(err));
	CHECK(env != NULL && strcmp(env[0], "FOO=bar") == 0);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	env_file_free(env);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(env_file_read(fifo, NULL, err, sizeof(err)) == NULL);
	snprintf(big, sizeof(big), "env-file %s: not a regular file", fifo);
	CHECK_STR(err, big);
	CHECK(env_file_read(dir, NULL, err, sizeof(err)) == NULL);
	unlink(fifo);

	/*
	 * The secrets: the declared names alone, from the agent's file;
	 * nothing of another variable kept.
	 */
	memset(&conf, 0, sizeof(conf));
	conf.nagents = 2;
	conf.agents[0].name = "a";
	conf.agents[0].env_file = path;
	conf.agents[0].secrets = secrets;
	conf.agents[1].name = "b";
	write_file("FOO=bar\nGH_TOKEN=ghp_one\nB_TOKEN=b=1\n", 0600);
	CHECK(secret_store_load(&conf, err, sizeof(err)) == 0);
	CHECK_STR(secret_store_value("a", "GH_TOKEN"), "ghp_one");
	CHECK_STR(secret_store_value("a", "B_TOKEN"), "b=1");
	CHECK(secret_store_value("a", "FOO") == NULL);
	CHECK(secret_store_value("b", "GH_TOKEN") == NULL);

	/* Readable by others: refused, the old values kept. */
	write_file("GH_TOKEN=ghp_two\nB_TOKEN=b\n", 0644);
	CHECK(secret_store_load(&conf, err, sizeof(err)) == -1);
	snprintf(big, sizeof(big), "env-file %s holds secret GH_TOKEN but is "
	    "mode 0644: chmod 600 it, owned by root", path);
	CHECK_STR(err, big);
	CHECK_STR(secret_store_value("a", "GH_TOKEN"), "ghp_one");
	write_file("GH_TOKEN=ghp_two\nB_TOKEN=b\n", 0640);
	CHECK(secret_store_load(&conf, err, sizeof(err)) == -1);
	CHECK(strstr(err, "mode 0640") != NULL);
	/* A name missing, or empty. */
	write_file("GH_TOKEN=ghp_two\n", 0600);
	CHECK(secret_store_load(&conf, err, sizeof(err)) == -1);
	snprintf(big, sizeof(big), "agent a: env-file %s does not give secret "
	    "B_TOKEN", path);
	CHECK_STR(err, big);
	write_file("GH_TOKEN=ghp_two\nB_TOKEN=\n", 0600);
	CHECK(secret_store_load(&conf, err, sizeof(err)) == -1);
	CHECK(strstr(err, "gives an empty value for secret B_TOKEN") != NULL);
	CHECK_STR(secret_store_value("a", "GH_TOKEN"), "ghp_one");
	/* A good file again: the new values. */
	write_file("GH_TOKEN=ghp_two\nB_TOKEN=b\n", 0600);
	CHECK(secret_store_load(&conf, err, sizeof(err)) == 0);
	CHECK_STR(secret_store_value("a", "GH_TOKEN"), "ghp_two");
	unlink(path);
	CHECK(secret_store_load(&conf, err, sizeof(err)) == -1);
	CHECK(strstr(err, "No such file or directory") != NULL);
	secret_store_clear();
	CHECK(secret_store_value("a", "GH_TOKEN") == NULL);

	rmdir(dir);
	return (check_done("test-env-file"));
}
