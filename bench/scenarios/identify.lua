-- Identify-heavy: every request is a first hit (fresh session, no profile) carrying a
-- page-view and an identify with an e-mail. 95% of the e-mails are new; every 20th
-- request reuses the e-mail of a request ten earlier of the same thread, so its new
-- profile merges into that one (the merge runs inside the request).
--
--   wrk -t2 -c64 -d10s --latency -s bench/scenarios/identify.lua http://127.0.0.1:8686/track -- <seed>

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("_common")

events_per_request = 2

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local TEMPLATE = '{"source":{"id":"bench-web"},"session":{"id":"@SID@"},'
  .. '"context":{"browser":{"local":{"browser":{"name":"chrome",'
  .. '"userAgent":"' .. common.USER_AGENT .. '","language":"en-GB"}}}},'
  .. '"events":['
  .. '{"type":"page-view","context":{"page":{"url":"https://shop.example.com/account",'
  .. '"title":"Sign in"}}},'
  .. '{"type":"identify","properties":{"email":"@EMAIL@","firstname":"Bench","lastname":"User"}}'
  .. '],"options":{}}'

local head, rest = common.split(TEMPLATE, "@SID@")
local middle, tail = common.split(rest, "@EMAIL@")
local prefix = 0
local n = 0

setup = common.setup

function init(args)
  prefix = common.fresh_prefix(args)
end

function request()
  n = n + 1
  local sid = common.uuid(prefix, thread_id or 0, 0xd, n)
  local who = n
  if n % 20 == 0 and n > 20 then
    who = n - 10
  end
  local email = string.format("u%x.%x.%x@bench.example", prefix % 0x100000000, thread_id or 0, who)
  return wrk.format(nil, nil, nil, head .. sid .. middle .. email .. tail)
end

function done(summary, latency, requests)
  common.report(summary, latency, events_per_request)
end
