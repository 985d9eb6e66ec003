-- Returning visitor: one page-view per request for a session Kith already knows.
-- Each thread owns a fixed pool of POOL session ids derived from the seed (wrk ... --
-- <seed>) and its thread number, so two runs with one seed use the same sessions: a
-- warm-up run with the seed creates them, the measured run only revisits them. The
-- first POOL requests of a thread walk its pool in order (every session is touched);
-- after that sessions are picked at random.
--
--   wrk -t2 -c64 -d10s --latency -s bench/scenarios/returning_visitor.lua http://127.0.0.1:8686/track -- <seed>

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("_common")

events_per_request = 1
POOL = 1000

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local PAGES = {
  { "/shoes/runner", "Runner shoes" },
  { "/shoes/trail", "Trail shoes" },
  { "/cart", "Your cart" },
  { "/", "Shop" },
}

local TEMPLATE = '{"source":{"id":"bench-web"},"session":{"id":"@SID@"},'
  .. '"context":{"browser":{"local":{"browser":{"name":"chrome",'
  .. '"userAgent":"' .. common.USER_AGENT .. '",'
  .. '"language":"pl-PL","platform":"Win32","cookieEnabled":true}}},'
  .. '"screen":{"local":{"width":1920,"height":1080,"innerWidth":1903,"innerHeight":961,'
  .. '"colorDepth":24,"orientation":"landscape-primary"}}},'
  .. '"properties":{},'
  .. '"events":[{"type":"page-view","properties":{},"options":{},"context":{"page":{'
  .. '"url":"https://shop.example.com@PAGE@"}}}],"options":{}}'

local sessions = {}
local bodies_head, bodies_mid, bodies_tail
local n = 0

setup = common.setup

function init(args)
  sessions = common.pool(args, 9, POOL)
  bodies_head, bodies_mid = common.split(TEMPLATE, "@SID@")
  bodies_mid, bodies_tail = common.split(bodies_mid, "@PAGE@")
end

function request()
  n = n + 1
  local index = n
  if index > POOL then
    index = math.random(POOL)
  end
  local page = PAGES[(n % #PAGES) + 1]
  local body = bodies_head .. sessions[index] .. bodies_mid .. page[1]
    .. '","title":"' .. page[2] .. bodies_tail
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  common.report(summary, latency, events_per_request)
end
