// The load generator of tests/bench: the same client for every side.
//
// Reads one JSON spec on stdin, runs it, prints one JSON result on stdout:
//   {"samples_us": [...], "wall_s": S, "measured_s": S, "errors": N,
//    "first_error": "..."}
// samples_us are the latencies of the measured requests (warm-up excluded),
// in completion order.
//
// Spec, common keys: kind ("http" or "spawn"), concurrency (workers, each
// with its own keep-alive connection), count (measured operations in all),
// warmup (operations before measuring, not recorded).
//   http:  port, path, headers {}, body (string), expect (a substring the
//          answer must hold), reject (a substring it must not hold), and
//          optionally session: {body, notify} - each worker first POSTs
//          body (an initialize), takes the mcp-session-id it answers, POSTs
//          notify (notifications/initialized), and sends that id (and
//          MCP-Protocol-Version) with every measured request.
//   spawn: cmd, args [], cwd, expect: the program is run to its end, its
//          output read, and its exit status checked (0).
import http from "node:http";
import { spawn } from "node:child_process";

function readStdin() {
  return new Promise((resolve) => {
    let s = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (d) => (s += d));
    process.stdin.on("end", () => resolve(s));
  });
}

function post(agent, spec, body, extra) {
  return new Promise((resolve, reject) => {
    const headers = Object.assign(
      { "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "Content-Length": Buffer.byteLength(body) },
      spec.headers || {}, extra || {});
    const req = http.request({ host: "127.0.0.1", port: spec.port,
      path: spec.path, method: "POST", agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode,
        headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(spec.timeout_ms || 120000, () =>
      req.destroy(new Error("timeout")));
    req.end(body);
  });
}

function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    p.stdout.on("data", (c) => out.push(c));
    p.stderr.on("data", (c) => out.push(c));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code,
      text: Buffer.concat(out).toString() }));
  });
}

async function main() {
  const spec = JSON.parse(await readStdin());
  const conc = spec.concurrency || 1;
  const count = spec.count || 100;
  const warmup = spec.warmup || 0;
  const total = warmup + count;
  const samples = [];
  let next = 0;
  let errors = 0;
  let firstError = null;
  let first = null;
  let last = null;
  const fail = (msg) => {
    errors++;
    if (firstError === null) firstError = msg.slice(0, 500);
  };

  async function worker() {
    let op;
    let extra = {};
    let agent = null;
    if (spec.kind === "http") {
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      if (spec.session) {
        const r = await post(agent, spec, spec.session.body);
        const sid = r.headers["mcp-session-id"];
        if (r.status !== 200 || !sid)
          throw new Error("session: " + r.status + " " + r.text);
        extra = { "mcp-session-id": sid,
                  "MCP-Protocol-Version": spec.session.protocol ||
                    "2025-06-18" };
        if (spec.session.notify)
          await post(agent, spec, spec.session.notify, extra);
      }
      op = async () => {
        const r = await post(agent, spec, spec.body, extra);
        if (r.status !== 200) return "HTTP " + r.status + ": " + r.text;
        if (spec.expect && !r.text.includes(spec.expect))
          return "unexpected answer: " + r.text;
        if (spec.reject && r.text.includes(spec.reject))
          return "error answer: " + r.text;
        return null;
      };
    } else {
      op = async () => {
        const r = await run(spec.cmd, spec.args || [], spec.cwd);
        if (r.code !== 0) return "exit " + r.code + ": " + r.text;
        if (spec.expect && !r.text.includes(spec.expect))
          return "unexpected output: " + r.text;
        return null;
      };
    }
    for (;;) {
      const i = next++;
      if (i >= total) break;
      const t0 = process.hrtime.bigint();
      let err;
      try {
        err = await op();
      } catch (e) {
        err = String(e);
      }
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (err) fail(err);
      if (i >= warmup) {
        samples.push(us);
        if (first === null || t0 < first) first = t0;
        const t1 = process.hrtime.bigint();
        if (last === null || t1 > last) last = t1;
      }
    }
    if (agent) agent.destroy();
  }

  const t0 = process.hrtime.bigint();
  const workers = [];
  for (let w = 0; w < conc; w++) workers.push(worker());
  await Promise.all(workers);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const measured = first === null ? 0 : Number(last - first) / 1e9;
  process.stdout.write(JSON.stringify({ samples_us: samples, wall_s: wall,
    measured_s: measured, errors, first_error: firstError }) + "\n");
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ samples_us: [], wall_s: 0,
    errors: 1, first_error: String(e && e.stack || e) }) + "\n");
  process.exit(1);
});
