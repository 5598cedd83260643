# bash completion for qmsctl(1).
#
# The commands come from qmsctl itself (the list its usage message prints),
# the components and agent names from the running daemon (qmsctl status),
# so that neither can drift from what the installed qmsctl and the running
# qmsd know.  Installed as bash-completion/completions/qmsctl; bash-completion
# loads it on the first <Tab> after qmsctl.  Without bash-completion:
#   . /usr/local/share/bash-completion/completions/qmsctl

# The qmsctl being completed, with the -S of the line if it has one.
_qmsctl_run()
{
	command "$_qmsctl_prog" "${_qmsctl_socket[@]}" "$@" 2>/dev/null
}

# Every component row of qmsctl status: the first word of each line after
# the header but the indented ones (what a row adds on its own lines).
_qmsctl_components()
{
	_qmsctl_run status |
	    awk 'f && /^[^ ]/ { print $1 } /^COMPONENT /{ f = 1 }'
}

_qmsctl_agents()
{
	_qmsctl_components | sed -n 's/^agent://p'
}

_qmsctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local i=1 cmd= ci=0 w words n match
	_qmsctl_prog=${COMP_WORDS[0]/#\~/$HOME}
	_qmsctl_socket=()

	# Global options, then the command: the first word that is neither an
	# option nor the argument of -S.
	while [ "$i" -lt "$COMP_CWORD" ]; do
		case ${COMP_WORDS[i]} in
		-S)	_qmsctl_socket=(-S "${COMP_WORDS[i+1]}")
			i=$((i + 2))
			continue ;;
		-*)	;;
		*)	cmd=${COMP_WORDS[i]}
			ci=$i
			break ;;
		esac
		i=$((i + 1))
	done

	if [ "$prev" = -S ] && [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	words=$(command "$_qmsctl_prog" 2>&1 |
	    awk '/^commands:/{ f = 1; next } f { print $1 }')
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "-S $words" -- "$cur"))
		return
	fi
	# qmsctl takes any unique prefix of a command name.
	n=0
	for w in $words; do
		if [ "$w" = "$cmd" ]; then
			match=$w
			n=1
			break
		fi
		case $w in
		"$cmd"*) match=$w; n=$((n + 1)) ;;
		esac
	done
	[ "$n" = 1 ] && cmd=$match

	# The words after the command, before the one being completed.
	local args=("${COMP_WORDS[@]:ci+1:COMP_CWORD-ci-1}")
	local plain=0 dashdash=0 optarg=0
	for w in "${args[@]}"; do
		if [ "$optarg" = 1 ]; then
			optarg=0
			continue
		fi
		case $w in
		--)	dashdash=1 ;;
		-n)	case $cmd in logs|egress|events) optarg=1 ;; esac ;;
		-*)	;;
		*)	[ "$dashdash" = 0 ] && plain=$((plain + 1)) ;;
		esac
	done

	case $cmd in
	status|ps)
		COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	console)
		if [ "$plain" = 0 ] && [ "${#args[@]}" = 0 ]; then
			COMPREPLY=($(compgen -W "--logout-all" -- "$cur"))
		fi ;;
	up|down|session|mcp-config)
		case $cmd in
		up)		words=--force ;;
		session)	words="-d --force --via-docker" ;;
		*)		words= ;;
		esac
		if [ "$plain" = 0 ]; then
			words="$words $(_qmsctl_agents)"
		fi
		COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
	exec)
		if [ "$dashdash" = 1 ]; then
			# The command to run in the container: not ours to know.
			COMPREPLY=($(compgen -f -- "$cur"))
		elif [ "$plain" = 0 ]; then
			COMPREPLY=($(compgen -W "--force $(_qmsctl_agents)" \
			    -- "$cur"))
		else
			COMPREPLY=($(compgen -W "--" -- "$cur"))
		fi ;;
	notify)
		# An agent, then the text: not ours to know.
		if [ "$plain" = 0 ]; then
			COMPREPLY=($(compgen -W "-n $(_qmsctl_agents)" \
			    -- "$cur"))
		else
			COMPREPLY=()
		fi ;;
	egress|events)
		if [ "$prev" = -n ]; then
			COMPREPLY=()
			return
		fi
		words="-f -n --json"
		if [ "$plain" = 0 ]; then
			words="$words $(_qmsctl_agents)"
		fi
		COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
	policy)
		# An agent, then start=POLICY and stop=POLICY, or --reset.
		# Bash splits at "=" (COMP_WORDBREAKS): after "start =", the
		# values alone.
		local starts="manual on-task always" stops="manual inbox-empty idle"
		if [ "$plain" = 0 ]; then
			COMPREPLY=($(compgen -W "$(_qmsctl_agents)" -- "$cur"))
		elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then
			case ${COMP_WORDS[COMP_CWORD-2]} in
			start)	COMPREPLY=($(compgen -W "$starts" -- "$cur")) ;;
			stop)	COMPREPLY=($(compgen -W "$stops" -- "$cur")) ;;
			*)	COMPREPLY=() ;;
			esac
		else
			words=
			for w in $starts; do words="$words start=$w"; done
			for w in $stops; do words="$words stop=$w"; done
			[ "$plain" = 1 ] && words="$words --reset"
			COMPREPLY=($(compgen -W "$words" -- "$cur"))
		fi ;;
	audit)
		# --verify goes with --head alone; the others go together.
		case $prev in
		--agent)
			COMPREPLY=($(compgen -W "$(_qmsctl_agents)" -- "$cur"))
			return ;;
		--since|--head)
			COMPREPLY=()
			return ;;
		esac
		words="--agent --since -f --json --verify --head"
		for w in "${args[@]}"; do
			case $w in
			--verify|--head)	words="--verify --head" ;;
			--agent|--since|-f|--json)
				words="--agent --since -f --json" ;;
			esac
		done
		COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
	git-check)
		# --agent and its name; the command is not ours to know.
		if [ "$prev" = --agent ]; then
			COMPREPLY=($(compgen -W "$(_qmsctl_agents)" -- "$cur"))
		elif [ "${#args[@]}" = 0 ]; then
			COMPREPLY=($(compgen -W "--agent" -- "$cur"))
		else
			COMPREPLY=()
		fi ;;
	help)
		# words still holds the commands.
		if [ "$plain" = 0 ]; then
			COMPREPLY=($(compgen -W "$words" -- "$cur"))
		fi ;;
	start|stop|restart|logs)
		if [ "$cmd" = logs ] && [ "$prev" = -n ]; then
			COMPREPLY=()
			return
		fi
		words=
		[ "$cmd" = logs ] && words="-f -n"
		if [ "$plain" = 0 ]; then
			words="$words $(_qmsctl_components)"
		fi
		COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
	*)
		COMPREPLY=() ;;
	esac
}

complete -F _qmsctl qmsctl
