#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "token.h"
#include "util.h"

#define TOKEN_MAX_IDS	64

static char	host_token[TOKEN_LEN + 1];
static struct {
	char	*identity;
	char	 token[TOKEN_LEN + 1];
} tokens[TOKEN_MAX_IDS];

void
token_generate(char out[TOKEN_LEN + 1])
{
	unsigned char	raw[32];
	size_t		i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		fatal("getrandom");
	memcpy(out, "qms_", 4);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + 4 + i * 2, 3, "%02x", raw[i]);
	out[TOKEN_LEN] = '\0';
}

static int
valid_token(const char *s)
{
	size_t	i;

	if (strlen(s) != TOKEN_LEN || strncmp(s, "qms_", 4) != 0)
		return (0);
	for (i = 4; i < TOKEN_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

int
token_init(const char *state_dir, char *err, size_t errlen)
{
	char		*path, *tmp, buf[TOKEN_LEN + 2];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if (mkdir_p(state_dir, 0700) == -1) {
		snprintf(err, errlen, "state directory %s: %s", state_dir,
		    strerror(errno));
		return (-1);
	}
	xasprintf(&path, "%s/host.token", state_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
			log_warnx("%s was readable by others; made 0600", path);
			fchmod(fd, 0600);
		}
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (valid_token(buf)) {
			memcpy(host_token, buf, TOKEN_LEN + 1);
			free(path);
			return (0);
		}
		log_warnx("%s does not hold a token; making a new one", path);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return (-1);
	}
	/* Written whole under another name, then renamed into place. */
	token_generate(host_token);
	xasprintf(&tmp, "%s.new", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, host_token, TOKEN_LEN) != TOKEN_LEN ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1 ||
	    rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		free(tmp);
		free(path);
		return (-1);
	}
	close(fd);
	log_info("made a new host token in %s", path);
	free(tmp);
	free(path);
	return (0);
}

const char *
token_host(void)
{
	return (host_token);
}

void
token_set(const char *identity, const char *token)
{
	size_t	i, slot = TOKEN_MAX_IDS;

	for (i = 0; i < TOKEN_MAX_IDS; i++) {
		if (tokens[i].identity != NULL &&
		    strcmp(tokens[i].identity, identity) == 0) {
			slot = i;
			break;
		}
		if (tokens[i].identity == NULL && slot == TOKEN_MAX_IDS)
			slot = i;
	}
	if (slot == TOKEN_MAX_IDS)
		fatalx("more than %d token holders", TOKEN_MAX_IDS);
	if (tokens[slot].identity == NULL)
		tokens[slot].identity = xstrdup(identity);
	snprintf(tokens[slot].token, sizeof(tokens[slot].token), "%s", token);
}

void
token_remove(const char *identity)
{
	size_t	i;

	for (i = 0; i < TOKEN_MAX_IDS; i++) {
		if (tokens[i].identity != NULL &&
		    strcmp(tokens[i].identity, identity) == 0) {
			free(tokens[i].identity);
			tokens[i].identity = NULL;
			explicit_bzero(tokens[i].token, sizeof(tokens[i].token));
		}
	}
}

const char *
token_lookup(const char *presented)
{
	const char	*who = NULL;
	size_t		 i;

	if (presented == NULL || strlen(presented) != TOKEN_LEN)
		return (NULL);
	/* Every candidate is compared, so the time says nothing of which. */
	if (host_token[0] != '\0' &&
	    equal_secret(presented, host_token, TOKEN_LEN))
		who = "host";
	for (i = 0; i < TOKEN_MAX_IDS; i++)
		if (tokens[i].identity != NULL &&
		    equal_secret(presented, tokens[i].token, TOKEN_LEN))
			who = tokens[i].identity;
	return (who);
}

void
token_shutdown(void)
{
	size_t	i;

	for (i = 0; i < TOKEN_MAX_IDS; i++) {
		free(tokens[i].identity);
		tokens[i].identity = NULL;
	}
	explicit_bzero(tokens, sizeof(tokens));
	explicit_bzero(host_token, sizeof(host_token));
}
