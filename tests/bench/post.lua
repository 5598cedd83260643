-- wrk script of tests/bench: POST one JSON-RPC message over keep-alive
-- connections, and print a JSON summary line at the end.
-- BENCH_BODY is the body; BENCH_HEADERS holds more headers, one
-- "Name: value" per line.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
   local k, v = string.match(line, "^([^:]+):%s*(.*)$")
   if k then wrk.headers[k] = v end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
      '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
