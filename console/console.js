/*
 * qmsd console: the page's script.  Plain JavaScript, no framework, no
 * build step.  What it shows comes from GET /console/api/state and the
 * Server-Sent Events of /console/api/events; what it does goes to POST
 * /console/api/agents/NAME/ACTION; a terminal is xterm.js on the WebSocket
 * /console/api/agents/NAME/terminal.  Every text from qmsd is put in the
 * page as text (textContent), never as HTML.
 */
"use strict";

(function () {
	var API = "/console/api/";
	/*
	 * The page's key (qmsd(8), WEB CONSOLE): given once in the login's
	 * redirect as a fragment, kept in this origin's own storage, sent
	 * with every API request.  The cookie alone does not do: cookies are
	 * not port-scoped, so a page on another port of this host is sent it.
	 */
	var KEY = (function () {
		var m = /^#k=([0-9a-f]{64})$/.exec(location.hash);
		try {
			if (m) {
				localStorage.setItem("qmsd_console_key", m[1]);
				history.replaceState(null, "", location.pathname);
			}
			return localStorage.getItem("qmsd_console_key") || "";
		} catch (e) {
			return m ? m[1] : "";
		}
	})();
	var MAX_LINES = 200;		/* per live list */
	var agents = {};		/* name -> last row of ps */
	var notified = {};		/* name -> the condition last notified */
	var first = true;		/* no notification for the first state */
	var source = null;
	var backoff = 1000;
	var retryTimer = null;
	var uptimeBase = {};		/* name -> [uptime s, Date.now() then] */
	var terminals = {};		/* id -> terminal record */
	var nextTerminal = 1;
	var gone = false;		/* the session ended: stop trying */
	var firstOpen = true;

	function $(sel, root) { return (root || document).querySelector(sel); }
	function $$(sel, root) {
		return Array.prototype.slice.call(
		    (root || document).querySelectorAll(sel));
	}
	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}

	/* ---- connection ---- */

	function setConnection(state, text) {
		var c = $("#connection");
		c.dataset.state = state;
		c.textContent = text;
	}

	function showMessage(text, ok) {
		var m = $("#message");
		m.textContent = text;
		m.classList.toggle("ok", !!ok);
		m.hidden = false;
		clearTimeout(showMessage.timer);
		showMessage.timer = setTimeout(function () { m.hidden = true; },
		    ok ? 4000 : 12000);
	}

	function loggedOut() {
		gone = true;
		setConnection("disconnected", "logged out: run qmsctl console");
		if (source) source.close();
		source = null;
		clearTimeout(retryTimer);
	}

	function fetchState() {
		return fetch(API + "state", { credentials: "same-origin",
		    cache: "no-store", headers: { "X-Qmsd-Key": KEY } }).then(function (r) {
			if (r.status === 401) {
				loggedOut();
				return null;
			}
			if (!r.ok) throw new Error("state: HTTP " + r.status);
			return r.json();
		}).then(function (s) {
			if (s) applyState(s, true);
		});
	}

	function scheduleReconnect() {
		clearTimeout(retryTimer);
		setConnection("disconnected", "disconnected: retrying in " +
		    Math.round(backoff / 1000) + " s");
		retryTimer = setTimeout(function () {
			/* A 401 says the session is gone: no stream then. */
			fetchState().then(function () {
				if (!gone)
					connect();
			}, function () {
				backoff = Math.min(backoff * 2, 30000);
				scheduleReconnect();
			});
		}, backoff);
	}

	function connect() {
		if (source) source.close();
		source = new EventSource(API + "events?k=" +
		    encodeURIComponent(KEY));
		source.onopen = function () {
			var was = $("#connection").dataset.state;
			backoff = 1000;
			setConnection("connected", "live");
			/* Back after a break: the whole state again (the
			 * stream's first event is one too). */
			if (was === "disconnected" && !firstOpen)
				fetchState().catch(function () {});
			firstOpen = false;
		};
		source.onerror = function () {
			if (source.readyState === EventSource.CLOSED) {
				/* It gave up (qmsd answered with an error,
				 * or is gone): try again, slower each time. */
				source.close();
				source = null;
				backoff = Math.min(backoff * 2, 30000);
				scheduleReconnect();
			} else {
				setConnection("disconnected",
				    "disconnected: reconnecting…");
			}
		};
		source.addEventListener("state", function (e) {
			applyState(JSON.parse(e.data), false);
		});
		source.addEventListener("event", function (e) {
			agentEvent(JSON.parse(e.data));
		});
		source.addEventListener("audit", function (e) {
			addAudit(JSON.parse(e.data), true);
		});
		source.addEventListener("log", function (e) {
			addLog($("#qms-log"), JSON.parse(e.data), true);
		});
		source.addEventListener("egress", function (e) {
			addEgress(JSON.parse(e.data), true);
		});
		source.addEventListener("resync", function () {
			fetchState().catch(function () {});
		});
	}

	/* ---- agents ---- */

	var TONES = {
		running: "ok", stopped: "idle", missing: "idle",
		unknown: "idle", disabled: "idle",
		creating: "busy", starting: "busy", stopping: "busy",
		backoff: "warn", lost: "bad", failed: "bad",
		working: "busy", "needs-input": "warn", idle: "ok",
		"no-session": "idle"
	};

	function duration(s) {
		s = Math.max(0, Math.floor(s));
		if (s < 60) return s + "s";
		if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
		if (s < 86400) return Math.floor(s / 3600) + "h " +
		    Math.floor(s % 3600 / 60) + "m";
		return Math.floor(s / 86400) + "d " +
		    Math.floor(s % 86400 / 3600) + "h";
	}

	function cell(row, field) {
		return $('td[data-field="' + field + '"]', row);
	}

	function setDot(td, word, detail) {
		td.textContent = "";
		var s = el("span", "dot", word);
		s.dataset.tone = TONES[word] || "idle";
		td.appendChild(s);
		if (detail) td.appendChild(el("span", "detail", detail));
	}

	function rowFor(name) {
		var rows = $$("#agents tbody tr");
		for (var i = 0; i < rows.length; i++)
			if (rows[i].dataset.agent === name) return rows[i];
		var row = $("#agent-row").content.firstElementChild.cloneNode(true);
		row.dataset.agent = name;
		$(".name", row).textContent = name;
		wireRow(row, name);
		$("#agents tbody").appendChild(row);
		return row;
	}

	function policyText(p) {
		if (!p) return "";
		return "start " + p.start + ", stop " + p.stop;
	}

	function renderAgent(a) {
		var row = rowFor(a.agent);
		setDot(cell(row, "state"), a.state, a.pending ?
		    "pending: " + a.pending : "");
		setDot(cell(row, "activity"), a.activity || "no-session",
		    a.activity_detail || "");
		var inbox = cell(row, "inbox");
		inbox.textContent = "";
		var b = el("span", "badge" + (a.inbox > 0 ? " some" : ""),
		    a.inbox || 0);
		if (a.inbox_error) b.title = a.inbox_error;
		inbox.appendChild(b);
		inbox.dataset.count = a.inbox || 0;
		var pol = cell(row, "policy");
		pol.textContent = policyText(a.policy);
		if (a.policy && (a.policy.start_from === "run-time" ||
		    a.policy.stop_from === "run-time"))
			pol.appendChild(el("span", "detail", "set at run time"));
		var ct = cell(row, "container");
		ct.textContent = a.container ? a.container.slice(0, 12) : "—";
		ct.title = a.container ? a.name + " " + a.container : a.name;
		uptimeBase[a.agent] = a.state === "running" ?
		    [a.uptime, Date.now()] : null;
		tickUptime(row, a.agent);
		var le = cell(row, "last-exit");
		le.textContent = a.last_exit || "—";
		if (a.restarts > 0)
			le.appendChild(el("span", "detail", a.restarts +
			    " restart" + (a.restarts === 1 ? "" : "s")));
		/* The policy form follows qmsd unless a person is at it. */
		var form = $("form.policy", row);
		if (a.policy && !form.contains(document.activeElement) &&
		    form.dataset.shown !== JSON.stringify(a.policy)) {
			form.dataset.shown = JSON.stringify(a.policy);
			form.elements.start.value = a.policy.start;
			var stop = a.policy.stop.split(" ");
			form.elements.stop.value = stop[0];
			form.elements.idle.value = stop[1] || "";
		}
	}

	function tickUptime(row, name) {
		var u = uptimeBase[name];
		cell(row, "uptime").textContent = u ?
		    duration(u[0] + (Date.now() - u[1]) / 1000) : "—";
	}

	function attention(a) {
		if (a.activity === "needs-input") return "needs-input";
		if (a.activity === "idle" && a.inbox > 0) return "idle-inbox";
		return "";
	}

	function maybeNotify(a) {
		var now = attention(a), was = notified[a.agent] || "";
		notified[a.agent] = now;
		if (first || !now || now === was) return;
		if (!("Notification" in window) ||
		    Notification.permission !== "granted") return;
		var body = now === "needs-input" ?
		    a.agent + " needs your input" :
		    a.agent + " is idle with " + a.inbox + " item" +
		    (a.inbox === 1 ? "" : "s") + " in its inbox";
		try {
			new Notification("qmsd: " + a.agent, { body: body,
			    tag: "qmsd-" + a.agent });
		} catch (e) { /* some browsers want a service worker */ }
	}

	function applyState(s, full) {
		var seen = {};
		(s.agents || []).forEach(function (a) {
			seen[a.agent] = true;
			agents[a.agent] = a;
			renderAgent(a);
			maybeNotify(a);
		});
		$$("#agents tbody tr").forEach(function (row) {
			if (!seen[row.dataset.agent]) {
				delete agents[row.dataset.agent];
				row.remove();
			}
		});
		$("#no-agents").hidden = (s.agents || []).length > 0;
		first = false;
		if (s.servers) renderServers(s.servers, full || !!s.servers.log);
		renderEgressCounts();
	}

	function agentEvent(ev) {
		var a = agents[ev.agent];
		if (!a) return;
		/* The "state" that follows says all; this is the quick part. */
		if (ev.type === "activity" && ev.activity) {
			a.activity = ev.activity;
			a.activity_detail = ev.detail || "";
		} else if (ev.type === "inbox" && typeof ev.count === "number") {
			a.inbox = ev.count;
		} else if (ev.type === "delivery") {
			showMessage("notification for " + ev.agent + ": " +
			    (ev.error ? "failed: " + ev.error : "delivered"),
			    !ev.error);
		}
		renderAgent(a);
		maybeNotify(a);
		var row = rowFor(ev.agent);
		row.classList.remove("flash");
		void row.offsetWidth;
		row.classList.add("flash");
	}

	/* ---- actions ---- */

	function post(name, action, body, button) {
		if (button) button.disabled = true;
		return fetch(API + "agents/" + encodeURIComponent(name) + "/" +
		    action, {
			method: "POST",
			credentials: "same-origin",
			headers: { "Content-Type": "application/json",
			    "X-Qmsd-Key": KEY },
			body: JSON.stringify(body || {})
		}).then(function (r) {
			if (r.status === 401) loggedOut();
			return r.json().catch(function () {
				return { error: "HTTP " + r.status };
			});
		}).then(function (j) {
			if (j.error) showMessage(name + ": " + action + ": " +
			    j.error, false);
			else showMessage(name + ": " + action + ": done", true);
			return j;
		}, function (e) {
			showMessage(name + ": " + action + ": " + e.message, false);
		}).finally(function () {
			if (button) button.disabled = false;
		});
	}

	function wireRow(row, name) {
		$$("button[data-action]", row).forEach(function (b) {
			b.addEventListener("click", function () {
				var act = b.dataset.action;
				if (act === "terminal") reopenTerminal(name);
				else post(name, act, {}, b);
			});
		});
		var notify = $("form.notify", row);
		notify.addEventListener("submit", function (e) {
			e.preventDefault();
			var t = notify.elements.text;
			post(name, "notify", { text: t.value },
			    $("button", notify)).then(function (j) {
				if (j && j.ok) t.value = "";
			});
		});
		var pol = $("form.policy", row);
		pol.addEventListener("submit", function (e) {
			e.preventDefault();
			var stop = pol.elements.stop.value;
			if (stop === "idle")
				stop = "idle " + (pol.elements.idle.value.trim() ||
				    "10m");
			post(name, "policy", { start: pol.elements.start.value,
			    stop: stop }, $('button[type="submit"]', pol));
			pol.dataset.shown = "";
		});
		$("button.reset", pol).addEventListener("click", function (e) {
			post(name, "policy", { reset: true }, e.target);
			pol.dataset.shown = "";
		});
	}

	/* ---- servers ---- */

	function component(servers, name) {
		var list = servers.components || [];
		for (var i = 0; i < list.length; i++)
			if (list[i].name === name) return list[i];
		return null;
	}

	function facts(card, pairs) {
		var dl = $("dl.facts", card);
		dl.textContent = "";
		pairs.forEach(function (p) {
			if (p[1] === undefined || p[1] === null || p[1] === "")
				return;
			dl.appendChild(el("dt", "", p[0]));
			var dd = el("dd", "");
			if (p[2]) {
				var s = el("span", "dot", p[1]);
				s.dataset.tone = p[2];
				dd.appendChild(s);
			} else {
				dd.textContent = String(p[1]);
			}
			dl.appendChild(dd);
		});
	}

	var HEALTH_TONE = { ok: "ok", warning: "warn", critical: "bad",
	    none: "idle" };

	function componentFacts(card, c, extra) {
		if (!c) {
			facts(card, [["state", "not running", "idle"]]);
			return;
		}
		var pairs = [["state", c.state, HEALTH_TONE[c.health] || "idle"],
		    ["detail", c.detail], ["since", c.since]];
		if ("pid" in c) pairs.push(["pid", c.pid === null ? "—" : c.pid]);
		if ("restarts" in c) pairs.push(["restarts", c.restarts]);
		facts(card, pairs.concat(extra || []));
	}

	function renderServers(s, withTails) {
		var h = $("#health");
		h.dataset.health = s.health || "none";
		h.textContent = "health: " + (s.health || "unknown") +
		    (s.daemon ? " · qmsd " + s.daemon.version : "");
		var mcp = component(s, "qms-mcp");
		componentFacts($('[data-server="qms-mcp"]'), mcp, mcp ?
		    [["last exit", mcp.last_exit], ["protocol", mcp.protocol]] :
		    []);
		componentFacts($('[data-server="git"]'), component(s, "git"));
		var gw = component(s, "gateway");
		componentFacts($('[data-server="gateway"]'), gw, gw ?
		    [["served", gw.served], ["failed", gw.failed],
		     ["cancelled", gw.cancelled], ["active", gw.active],
		     ["last error", gw.last_error]] : []);
		componentFacts($('[data-server="docker"]'), component(s, "docker"));
		if (!withTails) return;
		if (s.log) {
			$("#qms-log").textContent = "";
			s.log.forEach(function (l) { addLog($("#qms-log"), l); });
		}
		if (s.audit) {
			$("#audit").textContent = "";
			s.audit.forEach(function (l) { addAudit(l); });
		}
		if (s.egress) {
			$("#egress-log").textContent = "";
			s.egress.forEach(function (r) { addEgress(r); });
		}
	}

	/* Newest first; the list keeps MAX_LINES. */
	function prepend(list, li) {
		list.insertBefore(li, list.firstChild);
		while (list.children.length > MAX_LINES)
			list.removeChild(list.lastChild);
	}

	function stamp(li, t) {
		var tm = el("time", "", (t || "").replace(/^.*T/, "")
		    .replace(/\..*$/, "").replace(/Z$/, ""));
		tm.dateTime = t || "";
		li.appendChild(tm);
	}

	function addLog(list, l) {
		var li = el("li", "");
		stamp(li, l.time);
		li.appendChild(document.createTextNode(l.text));
		prepend(list, li);
	}

	/* "CALLER: VERDICT[ by RULE]: COMMAND -> OUTCOME, ..." (git-tool.c) */
	function addAudit(l) {
		var m = /^([^:]*): (allowed|denied)((?: by [^:]*)?): (.*)$/
		    .exec(l.text);
		var li = el("li", m ? m[2] : "");
		stamp(li, l.time);
		if (m) {
			li.dataset.agent = m[1];
			li.dataset.verdict = m[2];
			li.appendChild(el("span", "who", m[1]));
			li.appendChild(el("span", "verdict", m[2] + m[3]));
			li.appendChild(document.createTextNode(": " + m[4]));
		} else {
			li.appendChild(document.createTextNode(l.text));
		}
		prepend($("#audit"), li);
	}

	function addEgress(r) {
		var denied = /deny|denied|refus/.test(r.event || "");
		var li = el("li", denied ? "denied" : "allowed");
		stamp(li, r.time);
		li.dataset.agent = r.agent;
		li.appendChild(el("span", "who", r.agent));
		li.appendChild(el("span", "verdict", r.event));
		li.appendChild(document.createTextNode(" " +
		    [r.method, r.target].filter(Boolean).join(" ") +
		    (r.status ? " → " + r.status : "") +
		    (r.rule ? " (rule " + r.rule + ")" : "") +
		    (r.reason ? ": " + r.reason : "")));
		prepend($("#egress-log"), li);
	}

	function bytes(n) {
		if (!n) return "0";
		if (n < 1024) return n + " B";
		if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
		return (n / 1048576).toFixed(1) + " MiB";
	}

	function renderEgressCounts() {
		var tb = $('[data-server="egress"] tbody');
		tb.textContent = "";
		Object.keys(agents).sort().forEach(function (name) {
			var e = agents[name].egress || {};
			var tr = el("tr", "");
			tr.dataset.agent = name;
			[name, e.allowed, e.denied, e.failed, e.open,
			 bytes(e.bytes_up), bytes(e.bytes_down)].forEach(
			    function (v) { tr.appendChild(el("td", "",
				v === undefined ? 0 : v)); });
			tb.appendChild(tr);
		});
	}

	/* ---- terminals ---- */

	function openLink(ev, uri) {
		var u;
		try { u = new URL(uri); } catch (e) { return; }
		if ((u.protocol !== "http:" && u.protocol !== "https:") ||
		    !confirm("The agent's terminal links to\n\n" + u.href +
		    "\n\nOpen it?"))
			return;
		window.open(u.href, "_blank", "noopener,noreferrer");
	}

	/* The row's Terminal button: a terminal of this agent cut off
	 * (qmsd restarted) gives way to the new one. */
	function reopenTerminal(name) {
		$$('#terminals .terminal[data-state="disconnected"]')
		    .forEach(function (box) {
			if (box.dataset.agent === name)
				$(".bar button:last-child", box).click();
		});
		openTerminal(name);
	}

	function openTerminal(name) {
		if (typeof Terminal === "undefined" ||
		    typeof FitAddon === "undefined") {
			showMessage("xterm.js did not load", false);
			return;
		}
		var id = nextTerminal++;
		var box = el("div", "terminal");
		box.dataset.agent = name;
		box.dataset.id = id;
		var bar = el("div", "bar");
		bar.appendChild(el("span", "title", name));
		var status = el("span", "status", "connecting…");
		bar.appendChild(status);
		var close = el("button", "", "Close");
		close.type = "button";
		bar.appendChild(close);
		var screen = el("div", "screen");
		box.appendChild(bar);
		box.appendChild(screen);
		$("#terminals").appendChild(box);

		var term = new Terminal({ cursorBlink: true, fontSize: 13,
		    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace',
		    theme: { background: "#101318" },
		    /*
		     * The agent writes the screen, so its OSC 8 links too:
		     * xterm.js's own handler would open any scheme (file:,
		     * javascript:, data:) from our origin.  Only http(s), in a
		     * window that cannot reach back, after the person saw
		     * where it goes.
		     */
		    linkHandler: { activate: openLink } });
		var fit = new FitAddon.FitAddon();
		term.loadAddon(fit);
		term.open(screen);
		try { fit.fit(); } catch (e) { /* not laid out yet */ }
		var url = (location.protocol === "https:" ? "wss://" : "ws://") +
		    location.host + API + "agents/" + encodeURIComponent(name) +
		    "/terminal?rows=" + term.rows + "&cols=" + term.cols +
		    "&k=" + encodeURIComponent(KEY);
		var ws = new WebSocket(url);
		ws.binaryType = "arraybuffer";
		var enc = new TextEncoder();
		var rec = { term: term, ws: ws, box: box };
		terminals[id] = rec;

		function sendSize() {
			if (ws.readyState === WebSocket.OPEN)
				ws.send(JSON.stringify({ resize: [term.rows,
				    term.cols] }));
		}
		ws.onopen = function () {
			status.textContent = "connected";
			sendSize();
			term.focus();
		};
		ws.onmessage = function (e) {
			if (typeof e.data === "string") {
				var m;
				try { m = JSON.parse(e.data); } catch (x) { return; }
				if (m.progress !== undefined)
					status.textContent = typeof m.progress ===
					    "string" ? m.progress :
					    (m.progress.message || "starting…");
				if (m.error !== undefined) {
					status.textContent = "error: " + m.error;
					term.write("\r\n\x1b[31m" + m.error +
					    "\x1b[0m\r\n");
				}
				return;
			}
			term.write(new Uint8Array(e.data));
		};
		/* Gone (qmsd stopped, the session ended): said in the
		 * terminal itself, where the person is looking, with a way
		 * back.  Closed by the person: nothing to say. */
		var again = el("button", "reconnect", "Reconnect");
		again.type = "button";
		again.hidden = true;
		bar.insertBefore(again, close);
		ws.onclose = function (e) {
			if (rec.closing) return;
			if (status.textContent.indexOf("error") !== 0)
				status.textContent = "disconnected" + (e.reason ?
				    ": " + e.reason : "");
			term.write("\r\n\x1b[33m[disconnected from qmsd" +
			    (e.reason ? ": " + e.reason : "") +
			    "; Reconnect (or the Terminal button) opens it " +
			    "again]\x1b[0m\r\n");
			box.dataset.state = "disconnected";
			again.hidden = false;
		};
		again.addEventListener("click", function () {
			close.click();
			openTerminal(name);
		});
		term.onData(function (d) {
			if (ws.readyState === WebSocket.OPEN)
				ws.send(enc.encode(d));
		});
		term.onBinary(function (d) {
			var b = new Uint8Array(d.length);
			for (var i = 0; i < d.length; i++)
				b[i] = d.charCodeAt(i) & 255;
			if (ws.readyState === WebSocket.OPEN) ws.send(b);
		});
		term.onResize(sendSize);
		var ro = new ResizeObserver(function () {
			try { fit.fit(); } catch (e) { /* hidden */ }
		});
		ro.observe(screen);
		rec.ro = ro;
		close.addEventListener("click", function () {
			rec.closing = true;
			ro.disconnect();
			ws.close();
			term.dispose();
			box.remove();
			delete terminals[id];
		});
	}

	/* ---- start ---- */

	function init() {
		var nb = $("#notifications");
		if (!("Notification" in window)) {
			nb.hidden = true;
		} else {
			if (Notification.permission === "granted")
				nb.textContent = "Notifications on";
			nb.addEventListener("click", function () {
				Notification.requestPermission().then(function (p) {
					nb.textContent = p === "granted" ?
					    "Notifications on" :
					    "Notifications " + p;
				});
			});
		}
		setInterval(function () {
			$$("#agents tbody tr").forEach(function (row) {
				tickUptime(row, row.dataset.agent);
			});
		}, 1000);
		fetchState().then(connect, function () { scheduleReconnect(); });
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", init);
	else
		init();
})();
