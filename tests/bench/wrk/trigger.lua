-- POST one execution of a flow per request: wrk ... -s trigger.lua URL -- TOKEN [BODY_KIND GROUP_ID]
-- BODY_KIND noop (default): {"inputs": {}}; onboard: a new user each request, in group GROUP_ID.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local token, kind, group
function init(args)
  token, kind, group = args[1], args[2] or "noop", args[3]
end
function request()
  local body = '{"inputs": {}}'
  if kind == "onboard" then
    body = string.format('{"inputs": {"n": %d, "group_id": "%s"}}', unique(), group)
  end
  return wrk.format("POST", nil, {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
