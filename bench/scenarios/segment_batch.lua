-- Segment batch: every request is POST /v1/batch (the Segment-compatible API) for
-- source "bench-segment", authenticated as Segment's SDKs do (Basic auth, the write key
-- as user), with 100 messages of 10 people, 10 each, interleaved: per person one
-- identify (userId, anonymousId, e-mail and name traits), one page and eight track
-- calls ("Product Viewed" with 3 small properties), each with a random UUID messageId
-- (as the SDKs send), a timestamp and an SDK-like context (library, user agent, page,
-- IP). The people are new in every request: Kith creates 10 profiles and sessions,
-- claims 10 e-mails and customer ids, and stores the 100 events in 10 units of work
-- that it runs concurrently. A request is ~54 kB.
--
--   wrk -t2 -c64 -d10s --latency -s bench/scenarios/segment_batch.lua \
--     http://127.0.0.1:8686/v1/batch -- <seed>

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("_common")

events_per_request = 100
local PEOPLE = 10

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic YmVuY2gtc2VnbWVudDo=" -- "bench-segment:"

local CONTEXT = '"context":{"library":{"name":"analytics-python","version":"2.4.0"},'
  .. '"userAgent":"' .. common.USER_AGENT .. '","ip":"203.0.113.7","locale":"pl-PL",'
  .. '"page":{"url":"https://shop.example.com/p/42","title":"Item 42"}}'
local TIME = '"timestamp":"2026-01-01T10:00:00.000Z"'

local prefix = 0
local n = 0

setup = common.setup

function init(args)
  prefix = common.fresh_prefix(args)
end

local function message_id()
  return string.format("%08x-%04x-4%03x-%x%03x-%012x",
    math.random(0, 0x7fffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    8 + math.random(0, 3), math.random(0, 0xfff), math.random(0, 0xffffffffffff))
end

local function message(person, step)
  local ids = string.format('"userId":"u-%x-%x-%x-%d","anonymousId":"a-%x-%x-%x-%d"',
    prefix, thread_id or 0, n, person, prefix, thread_id or 0, n, person)
  local head = '{"messageId":"' .. message_id() .. '",' .. ids .. ',' .. TIME .. ',' .. CONTEXT
  if step == 1 then
    return head .. string.format(',"type":"identify","traits":{"email":"p%x-%x-%x-%d@example.com",'
      .. '"firstName":"Ann","lastName":"Lee"}}', prefix, thread_id or 0, n, person)
  elseif step == 2 then
    return head .. ',"type":"page","name":"Item 42","properties":{"path":"/p/42"}}'
  end
  return head .. string.format(',"type":"track","event":"Product Viewed",'
    .. '"properties":{"sku":"SKU-%03d","price":%d.9,"currency":"EUR"}}', step, 10 + step)
end

function request()
  n = n + 1
  local parts = {}
  for step = 1, events_per_request / PEOPLE do
    for person = 1, PEOPLE do
      parts[#parts + 1] = message(person, step)
    end
  end
  local body = '{"batch":[' .. table.concat(parts, ",") .. '],"sentAt":"2026-01-01T10:00:01.000Z"}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  common.report(summary, latency, events_per_request)
end
