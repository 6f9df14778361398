-- wrk script for benchmarks/open311.py (``--client wrk``): the Open311 posts and their floor.
--
--   wrk -t1 -c16 -d10s --timeout 30s -s benchmarks/open311_wrk.lua URL -- post <api_key>
--   wrk -t1 -c16 -d10s --timeout 30s -s benchmarks/open311_wrk.lua URL -- floor
--
-- "post": form-encoded POST /open311/v2/requests.json, every request with its own lat/long and
-- description (so duplicate detection sees distinct reports, as in real life); an answer is
-- good when it is 200 and carries a service_request_id. "floor": GET services.csv, refused
-- with 400 by the same router; an answer is good when it is 400.
-- The last line printed is read by open311.py: "open311-wrk requests=N bad=M errors=E seconds=S".

local threads = {}
local counter = 0
local mode = "post"
local prefix = ""
local expected = 200
bad = 0 -- a global: done() reads each thread's count with thread:get

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  mode = args[1] or "post"
  math.randomseed(7 + (id or 0))
  if mode == "post" then
    prefix = "api_key=" .. encode(args[2] or "") .. "&service_code=o-ga"
    expected = 200
  else
    expected = 400
  end
end

function request()
  counter = counter + 1
  if mode ~= "post" then
    return wrk.format("GET", "/open311/v2/services.csv")
  end
  local lat = 10.02 + math.random() * 0.03
  local lon = 105.77 + math.random() * 0.03
  local body = prefix
    .. string.format("&lat=%.6f&long=%.6f", lat, lon)
    .. "&description=" .. encode(string.format("ổ gà (benchmark) %d-%d", id or 0, counter))
  return wrk.format(
    "POST",
    "/open311/v2/requests.json",
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body
  )
end

function response(status, headers, body)
  if status ~= expected then
    bad = bad + 1
  elseif mode == "post" and not string.find(body, "service_request_id", 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "open311-wrk requests=%d bad=%d errors=%d seconds=%.6f\n",
    summary.requests, total_bad, errors, summary.duration / 1e6
  ))
end
