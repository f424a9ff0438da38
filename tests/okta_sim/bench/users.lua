-- wrk script for okta-sim: rotates over the users that throughput.sh seeds
-- (ids 00ubench000000000000.., logins bench00000@example.com..).
-- Arguments (after `--`): TOKEN CASE USERS [DEPTH]
--   CASE  get_id | get_login | suspend_unsuspend | deactivate_activate | reset_password | health
--   DEPTH requests sent in one write (HTTP/1.1 pipelining); wrk then waits for as many answers.
-- Lifecycle cases alternate per user: the first pass over the users suspends (deactivates) each,
-- the next one unsuspends (activates) it, and so on, so every request is a legal transition as long
-- as fewer than USERS requests are in flight (connections x DEPTH).

local token, case, nusers, depth
local headers
local i = 0
local verified = false

function init(args)
  token = args[1]
  case = args[2]
  nusers = tonumber(args[3])
  depth = tonumber(args[4] or "1")
  headers = { ["Authorization"] = "SSWS " .. token, ["Accept"] = "application/json" }
end

local function one()
  local k = i % nusers
  local pass = (i - k) / nusers
  i = i + 1
  local id = string.format("00ubench%012d", k)
  if case == "get_id" then
    return wrk.format("GET", "/api/v1/users/" .. id, headers)
  elseif case == "get_login" then
    return wrk.format("GET", string.format("/api/v1/users/bench%05d@example.com", k), headers)
  elseif case == "suspend_unsuspend" then
    local op = (pass % 2 == 0) and "suspend" or "unsuspend"
    return wrk.format("POST", "/api/v1/users/" .. id .. "/lifecycle/" .. op, headers)
  elseif case == "deactivate_activate" then
    local op = (pass % 2 == 0) and "deactivate" or "activate?sendEmail=false"
    return wrk.format("POST", "/api/v1/users/" .. id .. "/lifecycle/" .. op, headers)
  elseif case == "reset_password" then
    return wrk.format("POST", "/api/v1/users/" .. id .. "/lifecycle/reset_password?sendEmail=false", headers)
  elseif case == "health" then
    return wrk.format("GET", "/__sim/health", headers)
  end
  error("unknown case " .. tostring(case))
end

function request()
  local start = i
  local parts = {}
  for n = 1, depth do parts[n] = one() end
  -- wrk calls request() once right after init() only to count the requests per write; that
  -- batch is never sent, so it must not advance the rotation.
  if not verified then
    verified = true
    i = start
  end
  return table.concat(parts)
end
