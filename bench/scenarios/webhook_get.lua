-- Webhook GET: one page-view per request through the webhook bridge,
--   GET /collect/page-view/bench-web/<session id>?page=pricing&ref=ad
-- whose query string becomes the event's properties. Session ids come from a fixed
-- per-thread pool of POOL ids derived from the seed (wrk ... -- <seed>) and the thread
-- number, as in returning_visitor.lua but with variant "b": a warm-up run with the
-- seed creates the sessions (an unknown session gets a new profile), the measured run
-- only revisits them. The first POOL requests of a thread walk its pool in order;
-- after that sessions are picked at random. The path comes from this script, so the
-- URL given to wrk only needs the host.
--
--   wrk -t2 -c64 -d10s --latency -s bench/scenarios/webhook_get.lua http://127.0.0.1:8686/ -- <seed>

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("_common")

events_per_request = 1
POOL = 1000

wrk.method = "GET"

local PATH = "/collect/page-view/bench-web/"
local QUERY = "?page=pricing&ref=ad"

local paths = {}
local n = 0

setup = common.setup

function init(args)
  for i, id in ipairs(common.pool(args, 0xb, POOL)) do
    paths[i] = PATH .. id .. QUERY
  end
end

function request()
  n = n + 1
  local index = n
  if index > POOL then
    index = math.random(POOL)
  end
  return wrk.format(nil, paths[index])
end

function done(summary, latency, requests)
  common.report(summary, latency, events_per_request)
end
