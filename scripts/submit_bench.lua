-- wrk script for examples/submit_bench.rs: every request POSTs a survey form with a link
-- token no other request uses. BENCH_REQUESTS names a file of "PATH BODY" lines;
-- BENCH_THREADS (default 2) must equal wrk's -t: thread k sends lines k, k+T, k+2T, ...
-- With BENCH_PARTS=P wrk processes side by side (one per server), the one with
-- BENCH_PART=p sends lines p*T+k, p*T+k+P*T, ...: no two processes share a token.
-- BENCH_METHOD=GET fetches each link's form instead of posting it.
-- Counts responses per status and prints them as "status CODE N" lines at the end.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("BENCH_REQUESTS")
  local threads_per_part = tonumber(os.getenv("BENCH_THREADS") or "2")
  local parts = tonumber(os.getenv("BENCH_PARTS") or "1")
  local part = tonumber(os.getenv("BENCH_PART") or "0")
  local count = threads_per_part * parts
  local mine = part * threads_per_part + id
  method = os.getenv("BENCH_METHOD") or "POST"
  if file == nil then
    error("set BENCH_REQUESTS to the request file written by submit_bench")
  end
  paths, bodies = {}, {}
  local n = 0
  for line in io.lines(file) do
    if n % count == mine then
      local space = line:find(" ", 1, true)
      table.insert(paths, line:sub(1, space - 1))
      table.insert(bodies, line:sub(space + 1))
    end
    n = n + 1
  end
  if #paths == 0 then
    error("no requests for thread " .. id)
  end
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  at = 0
  exhausted = 0
  statuses = {}
end

function request()
  at = at + 1
  if at > #paths then
    -- Out of tokens: replayed posts answer 409 and are reported as such (a form can
    -- be fetched again).
    at = 1
    if method ~= "GET" then
      exhausted = 1
    end
  end
  if method == "GET" then
    return wrk.format("GET", paths[at])
  end
  return wrk.format("POST", paths[at], headers, bodies[at])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  local out = false
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      total[status] = (total[status] or 0) + n
    end
    if thread:get("exhausted") == 1 then
      out = true
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
  if out then
    io.write("tokens exhausted\n")
  end
end
