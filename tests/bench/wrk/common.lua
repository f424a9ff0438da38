-- Shared by the serve benchmarks (tests/bench/run.sh, section serve): wrk's threads each get a
-- number (for unique inputs), count the statuses they see, and the totals are printed at the end
-- as "statuses: 200=N 202=N ...".
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

counts = {}
sent = 0
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for status, n in pairs(c) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, status .. "=" .. n) end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("latency p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end

-- A unique number for each request of the run.
function unique()
  sent = sent + 1
  return tid * 100000000 + sent
end
