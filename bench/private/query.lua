-- wrk script: POST pre-generated valid requests (one hex body a line in
-- $REQS: bench/private/mkreq's, or migpreq's for MIGP) to $QPATH
-- (default /v1/private/query), cycled from a different offset in each
-- thread; or, with QMETHOD=GET, GET $QPATH with no body (run.sh's
-- transport floor), after the same per-request work in the script.
local reqs = {}
local counter = 0
local path = os.getenv("QPATH") or "/v1/private/query"
local method = os.getenv("QMETHOD") or "POST"

local function unhex(s)
  return (s:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
end

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  for line in io.lines(os.getenv("REQS")) do
    if #line > 0 then reqs[#reqs + 1] = unhex(line) end
  end
  i = (id * 997) % #reqs
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function request()
  i = i % #reqs + 1
  if method == "GET" then return wrk.format("GET", path) end
  return wrk.format("POST", path, nil, reqs[i])
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
