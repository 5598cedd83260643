/* policy.c: the values, the run-time file, and the decision. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"

static void
test_values(void)
{
	enum policy_start	 s;
	struct policy		 p = POLICY_DEFAULT;
	char			 err[256], buf[64];

	CHECK(policy_start_parse("on-task", &s, err, sizeof(err)) == 0 &&
	    s == POLICY_START_ON_TASK);
	CHECK(policy_start_parse(" always ", &s, err, sizeof(err)) == 0 &&
	    s == POLICY_START_ALWAYS);
	CHECK(policy_start_parse("manual", &s, err, sizeof(err)) == 0 &&
	    s == POLICY_START_MANUAL);
	CHECK(policy_start_parse("sometimes", &s, err, sizeof(err)) == -1);
	CHECK_STR(err, "start must be manual, on-task or always, not "
	    "\"sometimes\"");
	CHECK(policy_start_parse("on-task\x1b", &s, err, sizeof(err)) == -1);
	CHECK(strstr(err, "(unprintable)") != NULL);

	CHECK(policy_stop_parse("idle 10m", &p, err, sizeof(err)) == 0 &&
	    p.stop == POLICY_STOP_IDLE && p.idle == 600000);
	CHECK(policy_stop_parse("idle\t 2h", &p, err, sizeof(err)) == 0 &&
	    p.idle == 7200000);
	CHECK(policy_stop_parse("inbox-empty", &p, err, sizeof(err)) == 0 &&
	    p.stop == POLICY_STOP_INBOX_EMPTY && p.idle == 0);
	CHECK(policy_stop_parse("manual", &p, err, sizeof(err)) == 0 &&
	    p.stop == POLICY_STOP_MANUAL);
	CHECK(policy_stop_parse("idle", &p, err, sizeof(err)) == -1);
	CHECK(policy_stop_parse("idle10m", &p, err, sizeof(err)) == -1);
	CHECK(policy_stop_parse("idle 10", &p, err, sizeof(err)) == -1);
	CHECK(policy_stop_parse("idle 0s", &p, err, sizeof(err)) == -1);
	CHECK_STR(err, "stop: idle needs a duration from 1s to 720h in whole "
	    "seconds, minutes or hours (30s, 10m, 2h), not \"0s\"");
	CHECK(policy_stop_parse("idle 1500ms", &p, err, sizeof(err)) == -1);
	CHECK(policy_stop_parse("idle 721h", &p, err, sizeof(err)) == -1);
	CHECK(policy_stop_parse("idle 720h", &p, err, sizeof(err)) == 0);
	CHECK(policy_stop_parse("idle 1s", &p, err, sizeof(err)) == 0);
	CHECK(policy_stop_parse("idle 99999999999999999999h", &p, err,
	    sizeof(err)) == -1);
	CHECK(policy_stop_parse("never", &p, err, sizeof(err)) == -1);
	CHECK_STR(err, "stop must be manual, inbox-empty or idle DURATION, "
	    "not \"never\"");

	p.stop = POLICY_STOP_IDLE;
	p.idle = 7200000;
	policy_stop_format(&p, buf, sizeof(buf));
	CHECK_STR(buf, "idle 2h");
	p.idle = 90000;
	policy_stop_format(&p, buf, sizeof(buf));
	CHECK_STR(buf, "idle 90s");
	p.idle = 600000;
	policy_stop_format(&p, buf, sizeof(buf));
	CHECK_STR(buf, "idle 10m");
	p.stop = POLICY_STOP_INBOX_EMPTY;
	policy_stop_format(&p, buf, sizeof(buf));
	CHECK_STR(buf, "inbox-empty");
	CHECK_STR(policy_start_name(POLICY_START_ON_TASK), "on-task");
}

static void
test_file(void)
{
	struct policy_override	 o, back;
	struct policy		 conf = POLICY_DEFAULT, eff;
	char			 err[256], *text;
	const char		*t;

	t = "start=on-task\nstop=idle 10m\n";
	CHECK(policy_file_parse(t, strlen(t), &o, err, sizeof(err)) == 0);
	CHECK(o.set == (POLICY_SET_START | POLICY_SET_STOP));
	text = policy_file_format(&o);
	CHECK_STR(text, t);
	free(text);

	/* One part: the other comes from the configuration. */
	t = "stop=inbox-empty\n";
	CHECK(policy_file_parse(t, strlen(t), &o, err, sizeof(err)) == 0);
	CHECK(o.set == POLICY_SET_STOP);
	conf.start = POLICY_START_ALWAYS;
	policy_effective(&conf, &o, &eff);
	CHECK(eff.start == POLICY_START_ALWAYS &&
	    eff.stop == POLICY_STOP_INBOX_EMPTY);
	text = policy_file_format(&o);
	CHECK(policy_file_parse(text, strlen(text), &back, err,
	    sizeof(err)) == 0 && back.set == o.set &&
	    back.p.stop == o.p.stop);
	free(text);

	CHECK(policy_file_parse("", 0, &o, err, sizeof(err)) == 0 &&
	    o.set == 0);
	t = "start=on-task";
	CHECK(policy_file_parse(t, strlen(t), &o, err, sizeof(err)) == -1);
	CHECK_STR(err, "line 1: no newline at its end");
	t = "start=on-task\nstart=always\n";
	CHECK(policy_file_parse(t, strlen(t), &o, err, sizeof(err)) == -1);
	CHECK_STR(err, "line 2: start is given twice");
	t = "start=on-task\n\n";
	CHECK(policy_file_parse(t, strlen(t), &o, err, sizeof(err)) == -1);
	t = "restart=always\n";
	CHECK(policy_file_parse(t, strlen(t), &o, err, sizeof(err)) == -1);
	CHECK_STR(err, "line 1: \"restart=always\" is not start=VALUE or "
	    "stop=VALUE");
	CHECK(policy_file_parse("start=on-task\0\n", 15, &o, err,
	    sizeof(err)) == -1);
	CHECK_STR(err, "line 1: a NUL byte");
	{
		char	big[POLICY_FILE_MAX + 2];

		memset(big, '\n', sizeof(big));
		CHECK(policy_file_parse(big, sizeof(big), &o, err,
		    sizeof(err)) == -1);
	}

	memset(&o, 0, sizeof(o));
	CHECK(policy_word_parse("stop=idle 30s", &o, err, sizeof(err)) == 0);
	CHECK(policy_word_parse("stop=manual", &o, err, sizeof(err)) == -1);
	CHECK(policy_word_parse("start=bogus", &o, err, sizeof(err)) == -1);
	CHECK(!(o.set & POLICY_SET_START));
}

/* An input where nothing happens: running, idle just now, inbox empty. */
static struct policy_input
base(void)
{
	struct policy_input	in;

	memset(&in, 0, sizeof(in));
	in.running = 1;
	in.session = 1;
	in.act = ACT_IDLE;
	in.act_since = 1000;
	in.now = 1000;
	return (in);
}

static void
test_decide(void)
{
	struct policy		 p = POLICY_DEFAULT;
	struct policy_input	 in;
	uint64_t		 next;

	/* manual/manual: nothing, ever. */
	in = base();
	in.running = in.session = 0;
	in.inbox = 3;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE && next == 0);

	/* on-task: an item and no Claude starts it. */
	p.start = POLICY_START_ON_TASK;
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);
	in.inbox = 0;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.inbox = 1;
	in.running = 1;		/* a container without Claude */
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);
	in.session = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.session = 0;
	in.busy = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.busy = 0;
	in.down = POLICY_DOWN_PERSON;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.down = POLICY_DOWN_POLICY;
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);
	in.hold_until = 5000;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE && next == 5000);
	in.now = 5000;
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);

	/* always: at start and after it exits by itself. */
	p.start = POLICY_START_ALWAYS;
	in = base();
	in.running = in.session = 0;
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);
	in.down = POLICY_DOWN_SELF;
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);
	in.down = POLICY_DOWN_PERSON;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.inbox = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.down = POLICY_DOWN_POLICY;
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);
	in.inbox = 0;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);

	/* idle 10m: after ten minutes idle with nothing in the inbox. */
	p.start = POLICY_START_MANUAL;
	CHECK(policy_stop_parse("idle 10m", &p, NULL, 0) == 0);
	in = base();
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE &&
	    next == 1000 + 600000);
	in.now = 1000 + 599999;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE &&
	    next == 1000 + 600000);
	in.now = 1000 + 600000;
	CHECK(policy_decide(&p, &in, &next) == POLICY_STOP && next == 0);
	in.inbox = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE && next == 0);
	in.inbox = 0;
	in.attached = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.attached = 0;
	in.act = ACT_WORKING;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE && next == 0);
	in.act = ACT_NEEDS_INPUT;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.act = ACT_STARTING;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	/* A container whose Claude is gone is idle too. */
	in.act = ACT_NO_SESSION;
	in.session = 0;
	CHECK(policy_decide(&p, &in, &next) == POLICY_STOP);
	in.running = 0;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	/* No overflow past the end of time. */
	in = base();
	in.act_since = UINT64_MAX - 10;
	in.now = UINT64_MAX - 5;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);

	/* inbox-empty: once the last item has left, and it is not working. */
	CHECK(policy_stop_parse("inbox-empty", &p, NULL, 0) == 0);
	in = base();
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.inbox_seen = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_STOP && next == 0);
	in.act = ACT_WORKING;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.act = ACT_IDLE;
	in.inbox = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.inbox = 0;
	in.session = 0;
	in.act = ACT_NO_SESSION;
	CHECK(policy_decide(&p, &in, &next) == POLICY_STOP);

	/* on-task with inbox-empty: an item starts it, its leaving stops. */
	p.start = POLICY_START_ON_TASK;
	in = base();
	in.running = in.session = 0;
	in.inbox = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_START);
	in.running = in.session = 1;
	in.inbox_seen = 1;
	CHECK(policy_decide(&p, &in, &next) == POLICY_NONE);
	in.inbox = 0;
	CHECK(policy_decide(&p, &in, &next) == POLICY_STOP);

	CHECK_STR(policy_action_name(POLICY_STOP), "stop");
}

int
main(void)
{
	test_values();
	test_file();
	test_decide();
	return (check_done("policy"));
}
