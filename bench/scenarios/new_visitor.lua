-- New visitor: every request is a first hit. A fresh random session id, no profile,
-- the browser context of /work/shared/fixtures/browser.json and three events
-- (page-view, product-view, add-to-cart) for source "bench-web". Kith creates a
-- profile and a session for each request and stores 3 events plus its system events.
-- KITH_BENCH_OPTIONS (a JSON object) replaces the payload's `options`: `{"async":true}`
-- makes it the async_visitor scenario, which KITH_BENCH_VARIANT (a hex digit, default 8)
-- tells apart in its session ids.
--
--   wrk -t2 -c64 -d10s --latency -s bench/scenarios/new_visitor.lua http://127.0.0.1:8686/track -- <seed> [pause ms]

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("_common")

events_per_request = 3

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local TEMPLATE = '{"source":{"id":"bench-web"},"session":{"id":"@SID@"},'
  .. '"context":{"time":{"local":"2026-11-29T10:15:02.123Z","tz":"Europe/Warsaw"},'
  .. '"browser":{"local":{"browser":{"name":"chrome",'
  .. '"userAgent":"' .. common.USER_AGENT .. '",'
  .. '"language":"pl-PL","platform":"Win32","cookieEnabled":true}}},'
  .. '"screen":{"local":{"width":1920,"height":1080,"innerWidth":1903,"innerHeight":961,'
  .. '"colorDepth":24,"orientation":"landscape-primary"}},'
  .. '"utm":{"source":"newsletter","medium":"email","campaign":"black-friday","term":null,"content":"hero"},'
  .. '"storage":{}},'
  .. '"properties":{},'
  .. '"events":['
  .. '{"type":"page-view","properties":{},"options":{},"context":{"page":{'
  .. '"url":"https://shop.example.com/shoes/runner?utm_source=newsletter","path":"/shoes/runner",'
  .. '"hash":"","title":"Runner shoes","referer":{"host":"www.google.com","query":"running shoes"},'
  .. '"history":{"length":3}}}},'
  .. '{"type":"product-view","properties":{"sku":"RUN-42","name":"Runner","price":89.9,"currency":"EUR"},'
  .. '"options":{},"context":{"page":{"url":"https://shop.example.com/shoes/runner","title":"Runner shoes"}}},'
  .. '{"type":"add-to-cart","properties":{"sku":"RUN-42","name":"Runner","price":89.9,"currency":"EUR","quantity":1},'
  .. '"options":{},"context":{"page":{"url":"https://shop.example.com/shoes/runner","title":"Runner shoes"}}}'
  .. '],"options":' .. (os.getenv("KITH_BENCH_OPTIONS") or "{}") .. '}'

local head, tail = common.split(TEMPLATE, "@SID@")
local variant = tonumber(os.getenv("KITH_BENCH_VARIANT") or "8", 16)
local prefix = 0
local n = 0

setup = common.setup

function init(args)
  prefix = common.fresh_prefix(args)
  -- an optional second argument paces each connection: a pause (ms) before every
  -- request, which the soak uses to hold a steady rate below the maximum
  local pause = args and tonumber(args[2])
  if pause then
    delay = function() return pause end
  end
end

function request()
  n = n + 1
  local sid = common.uuid(prefix, thread_id or 0, variant, n)
  return wrk.format(nil, nil, nil, head .. sid .. tail)
end

function done(summary, latency, requests)
  common.report(summary, latency, events_per_request)
end
