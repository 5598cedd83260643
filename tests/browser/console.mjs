// The web console in a real browser: Debian's chromium, headless, driven
// over the DevTools protocol by puppeteer-core, against a real qmsd with a
// real agent container.  Run by tests/integration/test_console_browser.py,
// which starts qmsd and the agent and hands this script, as one JSON
// argument: the one-time login URL, the agent's name, the URL of a page
// served from another loopback port, and a directory for screenshots.
//
// What only the host can do or see (write an inbox item, ask tmux in the
// container, read qmsd's view of the agent) this script asks the wrapper
// for: one JSON line {"ask": WHAT, ...} on stdout, one JSON line back on
// stdin.  Progress goes to stderr.  It exits non-zero on the first failure.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import readline from 'node:readline';

// puppeteer-core is pinned in tests/node/package.json, installed there.
const require = createRequire(new URL('../node/package.json',
    import.meta.url));
const puppeteer = require('puppeteer-core');

const cfg = JSON.parse(process.argv[2]);
const login = new URL(cfg.login);
const origin = login.origin;
const agent = cfg.agent;
const started = Date.now();

const lines = readline.createInterface({ input: process.stdin })
    [Symbol.asyncIterator]();

function log(...a) {
	const t = ((Date.now() - started) / 1000).toFixed(1);
	process.stderr.write(`[browser ${t}s] ${a.join(' ')}\n`);
}

async function ask(what, args = {}) {
	process.stdout.write(JSON.stringify({ ask: what, ...args }) + '\n');
	const { value, done } = await lines.next();
	if (done)
		throw new Error(`${what}: the wrapper went away`);
	const r = JSON.parse(value);
	if (r.error)
		throw new Error(`${what}: ${r.error}`);
	return r;
}

function check(cond, what) {
	if (!cond)
		throw new Error(what);
}

function equal(got, want, what) {
	const g = JSON.stringify(got), w = JSON.stringify(want);
	if (g !== w)
		throw new Error(`${what}: got ${g}, want ${w}`);
}

// Polls fn until it returns something true; that, or a failure saying
// what never happened and what was seen last.
async function until(what, fn, timeout = 15000, every = 100) {
	const end = Date.now() + timeout;
	let last;
	for (;;) {
		// A call that never answers fails too, at the deadline.
		let timer;
		last = await Promise.race([fn(), new Promise((_, no) => {
			timer = setTimeout(() => no(new Error(`never: ${what} ` +
			    '(a call to the browser did not answer)')),
			    Math.max(end - Date.now(), 0) + 1000);
		})]).finally(() => clearTimeout(timer));
		if (last)
			return last;
		if (Date.now() > end)
			throw new Error(`never: ${what} (last: ` +
			    `${JSON.stringify(last)})`);
		await new Promise((r) => setTimeout(r, every));
	}
}

// A request from outside the browser, with the headers given.
function raw(method, path, headers = {}) {
	return new Promise((resolve, reject) => {
		const req = http.request(`${origin}${path}`, { method, headers },
		    (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode,
			    body }));
		});
		req.on('error', reject);
		req.end();
	});
}

async function shot(page, name) {
	const path = `${cfg.shots}/${name}.png`;
	await page.screenshot({ path });
	log('screenshot', path);
}

const row = `#agents tr[data-agent="${agent}"]`;
const term = `div.terminal[data-agent="${agent}"]`;

async function field(page, name) {
	return page.$eval(`${row} td[data-field="${name}"]`,
	    (td) => td.textContent.trim());
}

// The terminal's lines as xterm shows them (its DOM renderer's rows).
async function screen(page) {
	return page.$$eval(`${term} .xterm-rows > div`, (rows) =>
	    rows.map((r) => r.textContent.replace(/\u00a0/g, ' ').trimEnd()));
}

async function type(page, text) {
	await page.keyboard.type(text, { delay: 5 });
	await page.keyboard.press('Enter');
}

// What `stty size` says in the container, typed into the terminal: a line
// of its own, told apart from the command line by the marks around it.
async function sttySize(page, mark) {
	await type(page, `echo ${mark}-$(stty size)-${mark}`);
	const re = new RegExp(`^${mark}-(\\d+) (\\d+)-${mark}$`);
	const line = await until(`stty size (${mark}) in the terminal`,
	    async () => (await screen(page)).find((l) => re.test(l.trim())));
	const m = re.exec(line.trim());
	return [Number(m[1]), Number(m[2])];
}

// The size the page's xterm has: its rows as drawn, and the size it last
// told qmsd (the terminal URL's rows and cols, then each resize message).
function xtermSize(ws) {
	let size = null;
	if (ws.url !== null) {
		const q = new URL(ws.url).searchParams;
		size = [Number(q.get('rows')), Number(q.get('cols'))];
	}
	for (const f of ws.sent) {
		try {
			const m = JSON.parse(f);
			if (Array.isArray(m.resize))
				size = m.resize;
		} catch (e) {
			/* a binary frame */
		}
	}
	return size;
}

async function main() {
	// A step that hangs (a DevTools call that never answers) fails here,
	// before the wrapper's own deadline kills this script unheard.
	setTimeout(() => {
		log('FAILED: the scenario did not end within 90 s');
		process.exit(1);
	}, 90000).unref();
	mkdirSync(cfg.shots, { recursive: true });
	// Debian's chromium, never a downloaded one.  As root (the tests run
	// as root, to run qmsd and Docker) chromium refuses to start without
	// --no-sandbox; as anyone else it keeps its sandbox.
	const browser = await puppeteer.launch({
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: process.getuid() === 0 ? ['--no-sandbox'] : [],
		defaultViewport: { width: 1280, height: 860 },
	});
	try {
		await scenario(browser);
	} catch (e) {
		// Said at once: a screenshot below may never come.
		log('FAILED:', e.stack || e);
		e.logged = true;
		// What each page showed when it failed, kept with the others;
		// a page that does not answer in 5 s is left.
		const pages = await browser.pages();
		for (let i = 0; i < pages.length; i++)
			await Promise.race([shot(pages[i], `failed-${i}`),
			    new Promise((r) => setTimeout(r, 5000))])
			    .catch(() => {});
		throw e;
	} finally {
		await browser.close();
	}
}

async function scenario(browser) {
	// Notifications granted as a person would, by the DevTools protocol;
	// each `new Notification` recorded (and still made).
	await browser.defaultBrowserContext().overridePermissions(origin,
	    ['notifications']);
	const page = await browser.newPage();
	page.setDefaultTimeout(15000);
	page.on('dialog', (d) => d.accept());
	page.on('pageerror', (e) => log('page error:', e.message));
	await page.evaluateOnNewDocument(() => {
		const Real = window.Notification;
		window.__notes = [];
		if (Real === undefined)
			return;
		window.Notification = class extends Real {
			constructor(title, opts) {
				window.__notes.push({ title,
				    body: opts && opts.body });
				super(title, opts);
			}
		};
	});
	// The terminal's WebSocket as the browser sees it, from the
	// DevTools protocol: its URL and the text frames the page sends.
	const ws = { url: null, sent: [] };
	const cdp = await page.createCDPSession();
	await cdp.send('Network.enable');
	cdp.on('Network.webSocketCreated', (e) => {
		if (e.url.includes(`/agents/${agent}/terminal`))
			ws.url = e.url;
	});
	cdp.on('Network.webSocketFrameSent', (e) => {
		if (e.response.opcode === 1)
			ws.sent.push(e.response.payloadData);
	});

	log('login');
	const r = await page.goto(cfg.login);
	equal(r.status(), 200, 'the console after the login link');
	equal(page.url(), `${origin}/console/`, 'the URL, without the secret');
	const cookies = await page.cookies();
	const sid = cookies.find((c) => c.name === 'qmsd_console');
	check(sid !== undefined, 'a session cookie: ' + JSON.stringify(cookies));
	check(sid.httpOnly && sid.sameSite === 'Strict',
	    'HttpOnly and SameSite=Strict: ' + JSON.stringify(sid));
	check(!(await page.evaluate(() => document.cookie))
	    .includes('qmsd_console'), 'the page\'s scripts cannot read it');

	log('agents and servers');
	await page.waitForSelector('#connection[data-state="connected"]');
	await page.waitForSelector(row);
	await until('the agent running and idle', async () =>
	    await field(page, 'state') === 'running' &&
	    await field(page, 'activity') === 'idle');
	for (const f of ['inbox', 'policy', 'container', 'uptime',
	    'last-exit'])
		await page.waitForSelector(`${row} td[data-field="${f}"]`);
	equal(await field(page, 'inbox'), '0', 'an empty inbox');
	check((await field(page, 'container')).length > 0, 'a container');
	for (const s of ['qms-mcp', 'git', 'gateway', 'docker', 'egress'])
		await page.waitForSelector(`#servers [data-server="${s}"]`);
	await page.waitForSelector('#audit');
	await shot(page, 'console-agents');
	// Set now, and still there later: the page was never reloaded.
	await page.evaluate(() => { window.__notReloaded = 'yes'; });

	await terminal(page, ws);
	await inbox(page);
	await restart(page);

	log('another origin');
	await foreign(browser);

	log('down');
	await page.bringToFront();
	await page.click(`${row} button[data-action="down"]`);
	await until('the state changed on the page', async () =>
	    ['stopped', 'exited'].includes(await field(page, 'state')), 60000);
	const ps = (await ask('ps')).row;
	check(['stopped', 'exited'].includes(ps.state),
	    'qmsd has it down: ' + JSON.stringify(ps));
	await shot(page, 'console-down');

	log('no cookie, a used link');
	await strangers(browser);

	await logout(page, sid);
}

async function terminal(page, ws) {
	log('terminal');
	await page.click(`${row} button[data-action="terminal"]`);
	await page.waitForSelector(`${term} .xterm-rows`);
	await until('the terminal\'s WebSocket', () => ws.url);
	// Claude's (the fake's) prompt, from the agent's tmux session.
	await until('Claude\'s prompt in the terminal', async () =>
	    (await screen(page)).some((l) => l.includes('\u276f')));
	await page.click(`${term} .xterm-screen`);
	// A shell in a new window of the agent's tmux (the prefix, then
	// tmux's own command prompt), so that echo and stty run for real.
	await page.keyboard.down('Control');
	await page.keyboard.press('b');
	await page.keyboard.up('Control');
	await page.keyboard.type(':');
	// As a person would, typed once the prompt shows: tmux runs the
	// command-prompt bound to the key later, and keys that come before
	// it opens go to the pane.
	await until('tmux\'s command prompt on its status line', async () =>
	    (await screen(page)).at(-1).startsWith(':'));
	await type(page, 'new-window /bin/sh');
	await until('a shell prompt', async () =>
	    (await screen(page)).some((l) => /\$$/.test(l)));
	const word = 'word' + Math.random().toString(36).slice(2, 10);
	await type(page, `echo ${word}`);
	await until(`${word} echoed in the terminal`, async () =>
	    (await screen(page)).some((l) => l === word));
	// tmux's status line takes rows from the window's panes.
	const status = (await ask('tmux-status')).lines;
	const fits = async (mark) => {
		const want = await until('the size the page sent',
		    () => xtermSize(ws));
		equal((await screen(page)).length, want[0],
		    'xterm\'s rows, drawn and told');
		// The new size reaches the shell through qmsd, the exec's
		// TTY and tmux: asked again (a few times) until it has.
		let got;
		for (let i = 0; i < 5; i++) {
			got = await sttySize(page, `${mark}${i}`);
			if (got[0] === want[0] - status && got[1] === want[1])
				return want;
			await new Promise((r) => setTimeout(r, 300));
		}
		throw new Error(`stty size in the container: ${got}, for ` +
		    `xterm's ${want[0]}x${want[1]} (${status} status line)`);
	};
	const before = await fits('A');
	await shot(page, 'console-terminal');
	const sent = ws.sent.length;
	await page.setViewport({ width: 900, height: 560 });
	await until('a resize sent after the viewport changed', () =>
	    ws.sent.length > sent && JSON.stringify(xtermSize(ws)) !==
	    JSON.stringify(before));
	const after = await fits('B');
	log(`resized from ${before} to ${after}`);
	const pane = (await ask('pane-size')).size;
	equal(pane, [after[0] - status, after[1]], 'tmux\'s own pane size');
	await type(page, 'exit');
	await page.setViewport({ width: 1280, height: 860 });
}

async function inbox(page) {
	log('inbox and notification');
	equal(await page.evaluate(() => window.__notes), [],
	    'no notification before the item');
	await ask('drop', { item: 'CR-017.md' });
	await until('the inbox item on the page', async () =>
	    Number(await field(page, 'inbox')) >= 1, 30000);
	equal(await page.evaluate(() => window.__notReloaded), 'yes',
	    'the page was not reloaded');
	const notes = await until('a browser notification', () =>
	    page.evaluate(() => window.__notes.length > 0 &&
	    window.__notes), 45000);
	check(JSON.stringify(notes).includes(agent),
	    'the notification names the agent: ' + JSON.stringify(notes));
	// The terminal, still open, shows Claude take the item's notice
	// that qmsd typed into its session.
	await until('the notice typed, in the terminal', async () =>
	    (await screen(page)).some((l) =>
	    l.startsWith('working on: Task notification: CR-017')), 30000);
}

// qmsd stopped (SIGTERM) under the open page, then started again on the
// same state directory and port: the page says it is cut off, the open
// terminal too, and without a reload all comes back by itself.
async function restart(page) {
	log('qmsd stopped');
	await ask('stop-qmsd');
	await page.waitForSelector('#connection[data-state="disconnected"]');
	await until('the page saying it is disconnected', () =>
	    page.$eval('#connection', (c) => c.offsetParent !== null &&
	    /disconnected/.test(c.textContent)));
	await until('the terminal saying it was cut off', async () =>
	    (await screen(page)).some((l) =>
	    l.includes('[disconnected from qmsd')));
	check(await page.$eval(`${term} .bar`, (b) =>
	    /disconnected/.test(b.textContent)),
	    'the terminal\'s bar says disconnected');
	await shot(page, 'console-disconnected');
	// What was shown is forgotten, so that only the new qmsd can fill
	// the table again.
	const inboxWas = Number(await field(page, 'inbox'));
	await page.evaluate(() => {
		document.querySelector('#agents tbody').textContent = '';
	});

	log('qmsd started again');
	await ask('start-qmsd');
	log('qmsd ready; the page must come back by itself');
	// The page's own backoff; no reload, no click.
	await until('the page connected again', () => page.$eval(
	    '#connection', (c) => c.dataset.state === 'connected'), 30000);
	await page.waitForSelector(row);
	equal(await page.evaluate(() => window.__notReloaded), 'yes',
	    'the page was not reloaded');
	await until('the agent running again, as the new qmsd says',
	    async () => await field(page, 'state') === 'running');
	// Live again: an item arriving now shows without a reload.
	await ask('drop', { item: 'CR-018.md' });
	await until('the new inbox item on the page', async () =>
	    Number(await field(page, 'inbox')) > inboxWas, 30000);
	// The terminal again, from its Reconnect button: the agent's
	// tmux, with Claude's prompt, through the new qmsd.
	await page.click(`${term} .bar button.reconnect`);
	await until('one terminal, the cut-off one gone', () =>
	    page.$$eval('#terminals > div.terminal', (ts) =>
	    ts.length === 1 &&
	    ts[0].dataset.state !== 'disconnected'));
	// A new xterm: what it shows came through the new qmsd.
	await until('the new item\'s notice in the new terminal', async () => {
		const s = await screen(page);
		return !s.some((l) => l.includes('[disconnected')) &&
		    s.some((l) => l.startsWith('working on: Task ' +
		    'notification: CR-018'));
	}, 30000);
}

async function logout(page, sid) {
	log('logout');
	await page.bringToFront();
	// The page's Log out: a form (a navigation to qmsd's answer) or a
	// script (no navigation); either way the cookie must go.
	const [nav] = await Promise.all([
	    page.waitForNavigation({ timeout: 5000 }).catch(() => null),
	    page.click('form[action="/console/logout"] button, ' +
		'[data-action="logout"]')]);
	if (nav !== null)
		equal(nav.status(), 200, 'qmsd\'s answer to the page\'s logout');
	await until('the session ended', async () =>
	    !(await page.cookies()).some((c) => c.name === 'qmsd_console'));
	const again = await page.goto(`${origin}/console/`);
	equal(again.status(), 401, 'the console after logout');
	// And qmsd ended the session, not only the browser its cookie.
	const api = await raw('GET', '/console/api/state',
	    { Cookie: `qmsd_console=${sid.value}` });
	equal(api.status, 401, 'the API with the old session\'s cookie');
	check(api.body.includes('qmsctl console'), 'it says why: ' + api.body);
}

// A page of another loopback port, in the browser that holds the session:
// it POSTs to the API, opens the event stream and a terminal.  The browser
// sends the cookie along (127.0.0.1 on another port is the same site);
// qmsd must refuse each, by its Origin and Sec-Fetch-Site.
async function foreign(browser) {
	const page = await browser.newPage();
	const sent = new Map(), answered = new Map();
	const cdp = await page.createCDPSession();
	await cdp.send('Network.enable');
	cdp.on('Network.requestWillBeSent', (e) => {
		if (e.request.url.startsWith(origin))
			sent.set(e.requestId, { url: e.request.url,
			    method: e.request.method });
	});
	cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
		const h = Object.fromEntries(Object.entries(e.headers)
		    .map(([k, v]) => [k.toLowerCase(), v]));
		if (h.cookie !== undefined || h.origin !== undefined)
			sent.set(e.requestId + ':x', h);
	});
	cdp.on('Network.responseReceivedExtraInfo', (e) => {
		answered.set(e.requestId, e.statusCode);
	});
	cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
		sent.set(e.requestId + ':ws', e.request.headers);
	});
	cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
		answered.set(e.requestId + ':ws', e.response.status);
	});
	// What the browser says of a refused WebSocket handshake.
	const said = [];
	await cdp.send('Log.enable');
	cdp.on('Log.entryAdded', (e) => { said.push(e.entry.text); });
	const before = await ask('qmsd-side');
	const u = new URL(cfg.foreign);
	u.searchParams.set('console', origin);
	u.searchParams.set('agent', agent);
	await page.goto(u.href);
	const got = await until('the other origin\'s page done', () =>
	    page.evaluate(() => window.result), 30000);
	log('the other page saw', JSON.stringify(got));
	// qmsd's side, while that page still holds whatever it got.
	const after = await ask('qmsd-side');
	equal(after, before, 'nothing changed in qmsd or the container');
	// The page's side.
	equal(got.postCors, 'TypeError', 'a POST read across origins');
	equal(got.state, 'TypeError', 'the state read across origins');
	check(got.sse.startsWith('error:') && !got.sseOpen &&
	    !got.sseMessages, 'the event stream: ' + got.sse);
	check(!got.wsOpen && got.ws.startsWith('closed:'),
	    'the terminal\'s WebSocket: ' + got.ws);
	// qmsd's answers, as the browser received them: none let through,
	// and not for want of a cookie (the browser sent it).
	const rows = [...sent].filter(([k]) => !k.includes(':'))
	    .map(([id, r]) => ({ ...r, status: answered.get(id),
		cookie: ((sent.get(id + ':x') || {}).cookie || '')
		    .includes('qmsd_console=') }));
	log('requests to the console:', JSON.stringify(rows));
	log('the browser said:', JSON.stringify(said));
	const by = (m, p) => rows.find((r) => r.method === m &&
	    new URL(r.url).pathname.startsWith(p));
	for (const [m, p] of [['POST', `/console/api/agents/${agent}/down`],
	    ['GET', '/console/api/events']]) {
		const r = by(m, p);
		check(r !== undefined, `the browser sent ${m} ${p}`);
		check(r.cookie, `the browser sent the cookie with ${m} ${p}`);
		check(r.status === 403, `${m} ${p} refused: ${r.status}`);
	}
	for (const r of rows)
		check(r.status === undefined || r.status >= 400,
		    `refused: ${JSON.stringify(r)}`);
	for (const [k, s] of answered)
		check(!k.endsWith(':ws') || s !== 101,
		    'a WebSocket handshake was accepted');
	check(said.some((t) => t.includes(`/agents/${agent}/terminal`) &&
	    t.includes('Unexpected response code: 403')),
	    'the WebSocket handshake refused with 403: ' +
	    JSON.stringify(said));
	await page.close();
}

// A browser without the session: the 401 page; a POST without the cookie;
// the login link used already.
async function strangers(browser) {
	const ctx = await browser.createBrowserContext();
	const page = await ctx.newPage();
	// The 401 page's CSP lets no script fetch; the test's own script
	// goes around it, to send what any program could.
	await page.setBypassCSP(true);
	const r = await page.goto(`${origin}/console/`);
	equal(r.status(), 401, 'the console without a cookie');
	check((await page.content()).includes('qmsctl console'),
	    'the 401 page says to run qmsctl console');
	await shot(page, 'console-401');
	const post = await page.evaluate(async (a) => {
		const r = await fetch(`/console/api/agents/${a}/up`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: '{}' });
		return [r.status, await r.text()];
	}, agent);
	equal(post[0], 401, 'a POST without the cookie');
	check(post[1].includes('qmsctl console'), 'it says why: ' + post[1]);
	const used = await page.goto(cfg.login);
	equal(used.status(), 403, 'the used login link');
	check((await page.content()).includes('qmsctl console'),
	    'the refusal says to run qmsctl console');
	equal((await page.cookies()).length, 0, 'no session from it');
	const ps = (await ask('ps')).row;
	check(['stopped', 'exited'].includes(ps.state),
	    'the refused up did nothing: ' + JSON.stringify(ps));
	await ctx.close();
}

main().then(() => {
	log('done');
	process.stdout.write(JSON.stringify({ done: true }) + '\n');
	process.exit(0);
}, (e) => {
	if (!e.logged)
		log('FAILED:', e.stack || e);
	process.exit(1);
});
