-- Shared by the Kith wrk scenarios: thread numbering, unique ids, the JSON report.
--
-- A scenario loads this with:
--   package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
--   local common = require("_common")

local M = {}

local threads_started = 0

-- setup(thread) runs in wrk's main Lua state once per thread, before that thread's
-- init(); thread:set() makes `thread_id` a global inside the thread's own state.
function M.setup(thread)
  thread:set("thread_id", threads_started)
  threads_started = threads_started + 1
end

-- The run's seed: wrk ... url -- <seed>. Without one, the clock (good enough by hand).
function M.seed(args)
  local given = args and tonumber(args[1])
  if given then
    return given
  end
  return os.time()
end

-- A UUID-shaped id, unique per (prefix, thread, variant, n): no two threads and no two
-- requests of one thread share one, and a new prefix gives a new id space.
function M.uuid(prefix, thread, variant, n)
  return string.format("%08x-%04x-4%03x-%x%03x-%012x",
    prefix % 0x100000000, thread % 0x10000,
    math.floor(n / 0x1000000000000) % 0x1000, variant, 0, n % 0x1000000000000)
end

-- Split a body template around its one placeholder.
function M.split(template, marker)
  local first, last = string.find(template, marker, 1, true)
  assert(first, "placeholder " .. marker .. " not found")
  return string.sub(template, 1, first - 1), string.sub(template, last + 1)
end

-- done(): one line, "JSON:{...}", after wrk's usual summary; bench/run.py parses it.
-- Latencies are in microseconds, duration too.
function M.report(summary, latency, events_per_request)
  local e = summary.errors
  local p = {}
  for _, q in ipairs({ 50, 90, 95, 99 }) do
    p[q] = latency:percentile(q)
  end
  io.write(string.format(
    'JSON:{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"events_per_request":%d,'
      .. '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},'
      .. '"latency_us":{"min":%.0f,"mean":%.1f,"max":%.0f,"stdev":%.1f,'
      .. '"p50":%.0f,"p90":%.0f,"p95":%.0f,"p99":%.0f}}\n',
    summary.requests, summary.duration, summary.bytes, events_per_request,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    p[50], p[90], p[95], p[99]))
end

-- The Tracardi browser snippet's user agent (from shared/fixtures/browser.json).
M.USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
  .. "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

-- A random id prefix per run and thread, so ids never repeat across runs on one store.
function M.fresh_prefix(args)
  math.randomseed(M.seed(args) * 7919 + (thread_id or 0) * 104729 + os.time())
  return math.random(0, 0x7fffffff)
end

-- A pool of `count` ids derived from the seed alone (the same every run with that
-- seed, so a warm-up run makes them known); seeds the random picks as well.
function M.pool(args, variant, count)
  local seed = M.seed(args)
  local prefix = (seed * 7919 + 12345) % 0x7fffffff
  local ids = {}
  for i = 1, count do
    ids[i] = M.uuid(prefix, thread_id or 0, variant, i)
  end
  math.randomseed(seed + (thread_id or 0) * 104729 + os.time())
  return ids
end

return M
