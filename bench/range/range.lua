-- wrk script: GET /range/<random 5-hex-digit prefix>, the same seeded
-- sequence for every server. PAD=1 in the environment adds Add-Padding.
--
-- The requests are built once, in init (65,536 per thread, cycled), so
-- that the load generator, which shares the cores with the server under
-- test, spends its time sending and receiving rather than formatting
-- strings: building each request in request() cost wrk about as much CPU
-- as a request costs the server, and capped what any server could show.
local digits = "0123456789ABCDEF"
local pad = os.getenv("PAD") == "1"
-- WARM=1: each thread stops once it has had an answer to every request
-- of its list: a pass that brings every file and index page the timed
-- points read into the page cache, whatever the server.
local warm = os.getenv("WARM") == "1"
local answered = 0
local counter = 0
local reqs = {}
local n = 65536
local i = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  math.randomseed(1234 + id)
  local headers = {}
  if pad then headers["Add-Padding"] = "true" end
  for k = 1, n do
    local t = {}
    for j = 1, 5 do
      local r = math.random(1, 16)
      t[j] = digits:sub(r, r)
    end
    reqs[k] = wrk.format("GET", "/range/" .. table.concat(t), headers)
  end
end

-- PACE_MS=1: each connection waits that long after an answer before
-- its next request, so both servers get about the same offered load,
-- below what either can serve: their latencies at equal load.
local pace = tonumber(os.getenv("PACE_MS") or "0")
if pace > 0 then
  function delay() return pace end
end

function request()
  i = i % n + 1
  return reqs[i]
end

-- Defined only when warming: wrk hands every response to Lua when a
-- response function exists, which the timed points must not pay for.
if warm then
  function response(status, headers, body)
    answered = answered + 1
    if answered >= n then wrk.thread:stop() end
  end
end

latency_report = function(summary, latency, requests)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT req/s=%.0f p50_us=%d p99_us=%d bytes_per_resp=%.0f errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.bytes / math.max(summary.requests, 1),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
