-- wrk script of `make soak` (bench/daemon/soak.py): every request is the same one, made from
-- the environment (SOAK_METHOD, SOAK_PATH, SOAK_CTYPE, SOAK_BODY: a file), and every answer is
-- counted by status, with the 503s that lack Retry-After. At the end one line
-- "SOAK {json}" gives the counts, wrk's latency percentiles (all answers) and its errors.
local method = os.getenv("SOAK_METHOD") or "GET"
local path = assert(os.getenv("SOAK_PATH"), "SOAK_PATH")
local ctype = os.getenv("SOAK_CTYPE") or ""
local body_file = os.getenv("SOAK_BODY") or ""
local body = nil
if body_file ~= "" then
   local f = assert(io.open(body_file, "rb"))
   body = f:read("*a")
   f:close()
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
   no_retry_after = 0
   local headers = {}
   if ctype ~= "" then headers["Content-Type"] = ctype end
   req = wrk.format(method, path, headers, body)
end

function request()
   return req
end

function response(status, headers, _)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 503 and headers["Retry-After"] == nil then
      no_retry_after = no_retry_after + 1
   end
end

function done(summary, latency, _)
   local total, missing = {}, 0
   for _, t in ipairs(threads) do
      for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
      missing = missing + t:get("no_retry_after")
   end
   local parts = {}
   for code, n in pairs(total) do table.insert(parts, string.format('"%d": %d', code, n)) end
   local e = summary.errors
   io.write(string.format(
      'SOAK {"statuses": {%s}, "no_retry_after": %d, "answers": %d, "duration_us": %d, ' ..
      '"p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
      table.concat(parts, ", "), missing, summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
end
