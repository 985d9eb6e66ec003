-- PUT batch: every request is PUT /track with a JSON array of 50 tracker payloads for
-- source "bench-web", each for a fresh session with one page-view (a sender that
-- buffers first hits and flushes them together). Kith processes the payloads in order
-- and answers an array of 50 responses; each payload creates a profile and a session.
-- Session ids use variant "c" (see _common.uuid).
--
--   wrk -t2 -c64 -d10s --latency -s bench/scenarios/put_batch.lua http://127.0.0.1:8686/track -- <seed>

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("_common")

events_per_request = 50

wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"

local TEMPLATE = '{"source":{"id":"bench-web"},"session":{"id":"@SID@"},'
  .. '"context":{"browser":{"local":{"browser":{"name":"chrome",'
  .. '"userAgent":"' .. common.USER_AGENT .. '",'
  .. '"language":"pl-PL"}}}},'
  .. '"properties":{},'
  .. '"events":[{"type":"page-view","properties":{},"options":{},"context":{"page":{'
  .. '"url":"https://shop.example.com/landing","title":"Landing"}}}],"options":{}}'

local head, tail = common.split(TEMPLATE, "@SID@")
local prefix = 0
local n = 0
local parts = {}

setup = common.setup

function init(args)
  prefix = common.fresh_prefix(args)
end

function request()
  for i = 1, events_per_request do
    n = n + 1
    parts[i] = head .. common.uuid(prefix, thread_id or 0, 0xc, n) .. tail
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end

function done(summary, latency, requests)
  common.report(summary, latency, events_per_request)
end
