// A hostile page on another loopback port, in the browser that holds a
// console session (tests/integration/test_hostile_console.py): log in with
// the one-time link, then open cfg.hostile, whose own script asks its own
// server for /console/... with credentials.  Cookies are not port-scoped:
// the browser sends the console's cookie along unless the cookie is made
// so that it cannot be.  Then the console's own page asks its API for the
// state, and prints {"state": STATUS} on stdout.  Exits 0 once the hostile page says it is done.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../node/package.json',
    import.meta.url));
const puppeteer = require('puppeteer-core');

const cfg = JSON.parse(process.argv[2]);

setTimeout(() => {
	console.error('FAILED: not done within 60 s');
	process.exit(1);
}, 60000).unref();

const browser = await puppeteer.launch({
	executablePath: '/usr/bin/chromium',
	headless: true,
	args: process.getuid() === 0 ? ['--no-sandbox'] : [],
});
try {
	const page = await browser.newPage();
	const r = await page.goto(cfg.login, { waitUntil: 'load' });
	if (!r.ok() || !new URL(page.url()).pathname.startsWith('/console/'))
		throw new Error('login failed: ' + page.url());
	await page.goto(cfg.hostile, { waitUntil: 'load' });
	await page.waitForFunction('window.done === true', { timeout: 20000 });
	// Then the console itself, in the same browser: what its API says.
	await page.goto(cfg.login.replace(/\/console\/.*/, '/console/'),
	    { waitUntil: 'load' });
	// (with the page's key, kept in its origin's storage at login)
	const st = await page.evaluate(async () =>
	    (await fetch('/console/api/state', { headers: { 'X-Qmsd-Key':
	    localStorage.getItem('qmsd_console_key') } })).status);
	console.log(JSON.stringify({ state: st }));
} finally {
	await browser.close();
}
