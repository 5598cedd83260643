#!/bin/sh
# The peer of benchmark 9 (tests/bench/README.md): a notification typed
# into Claude Code the way the original hub did it, by hand with docker's
# CLI and tmux, no daemon.
#
#   by-hand.sh cold CONTAINER USER SESSION TEXT
#       docker start the (existing, stopped) container, start Claude in a
#       new detached tmux session, poll the screen every 0.1 s until its
#       ready prompt line (U+276F and blanks) shows, then type
#       TEXT and Enter.
#   by-hand.sh warm CONTAINER USER SESSION TEXT
#       Claude already waits in SESSION: type TEXT and Enter.
#
# USER is the container user (UID:GID) Claude runs as.  TEXT is one line.
set -eu
mode=$1 c=$2 user=$3 s=$4 text=$5
x() { docker exec -u "$user" -w /pipe-dream "$c" "$@"; }
if [ "$mode" = cold ]; then
	docker start "$c" >/dev/null
	x tmux new-session -d -s "$s" -x 200 -y 50 claude
	# the prompt line is ❯ and a no-break space
	until x tmux capture-pane -p -t "$s" | sed 's/\xc2\xa0/ /g' |
	    grep -q '^[[:space:]]*❯[[:space:]]*$'
	do
		sleep 0.1
	done
fi
x tmux send-keys -t "$s" -l "$text"
x tmux send-keys -t "$s" Enter
