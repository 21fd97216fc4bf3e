-- wrk script: POST a case from another citizen each time (a valid national ID: nine digits and the check
-- digit), count the answers by status, and print them as one JSON line at the end.
local template = '{"kind":"complaint","full_name":"سنجش کارایی","phone":"09120000000",' ..
  '"address":"تهران، خیابان آزمون، پلاک ۱","subject":"سنجش","description":"پرونده‌ای برای سنجش توان سامانه.",' ..
  '"target":{"agency":"labour","province":"tehran","county":"rey"},"national_id":"%s"}'
local rating = '{"unit_id":"labour/tehran/rey/performance-office","employee_id":"e-%d","score":%d,' ..
  '"aspects":{"respect":%d,"speed":%d}}'
local threads = {}

local function national_id()
  while true do
    local digits, sum = {}, 0
    for i = 1, 9 do
      digits[i] = math.random(0, 9)
      sum = sum + digits[i] * (11 - i)
    end
    local r = sum % 11
    local check = r < 2 and r or 11 - r
    local id = table.concat(digits) .. check
    if not id:match("^(%d)%1+$") then return id end
  end
end

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  kind = args[1] or "case"
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body
  if kind == "rating" then
    local score = math.random(1, 5)
    body = string.format(rating, math.random(1, 50), score, score, math.random(1, 5))
  else
    body = string.format(template, national_id())
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do counts[status] = (counts[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, string.format('"%d":%d', status, n)) end
  io.write(string.format('{"seconds":%.3f,"statuses":{%s},"errors":%d,"p50_ms":%.1f,"p99_ms":%.1f,"max_ms":%.1f}\n',
    summary.duration / 1e6, table.concat(parts, ","),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
