-- Bulk: every request is one tracker payload carrying 100 events for a fresh session
-- of source "bench-web", alternating page-view and product-view, each with small
-- properties (a server-side sender or an app flushing its queue). Kith creates a
-- profile and a session for each request and stores the 100 events plus its system
-- events in one unit of work. Session ids use variant "a" (see _common.uuid), so
-- bench/run.py can find this scenario's rows in the store afterwards.
--
--   wrk -t2 -c64 -d10s --latency -s bench/scenarios/bulk.lua http://127.0.0.1:8686/track -- <seed>

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("_common")

events_per_request = 100

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local function events()
  local parts = {}
  for i = 1, events_per_request do
    local item = (i - 1) % 50 + 1
    if i % 2 == 1 then
      parts[i] = string.format(
        '{"type":"page-view","properties":{"page":"/p/%d","title":"Item %d"},"options":{}}',
        item, item)
    else
      parts[i] = string.format(
        '{"type":"product-view","properties":{"sku":"SKU-%03d","price":%d.9,"currency":"EUR"},'
          .. '"options":{}}',
        item, 10 + item)
    end
  end
  return table.concat(parts, ",")
end

local TEMPLATE = '{"source":{"id":"bench-web"},"session":{"id":"@SID@"},'
  .. '"context":{"browser":{"local":{"browser":{"name":"chrome",'
  .. '"userAgent":"' .. common.USER_AGENT .. '",'
  .. '"language":"pl-PL","platform":"Win32","cookieEnabled":true}}}},'
  .. '"properties":{},'
  .. '"events":[' .. events() .. '],"options":{}}'

local head, tail = common.split(TEMPLATE, "@SID@")
local prefix = 0
local n = 0

setup = common.setup

function init(args)
  prefix = common.fresh_prefix(args)
end

function request()
  n = n + 1
  local sid = common.uuid(prefix, thread_id or 0, 0xa, n)
  return wrk.format(nil, nil, nil, head .. sid .. tail)
end

function done(summary, latency, requests)
  common.report(summary, latency, events_per_request)
end
