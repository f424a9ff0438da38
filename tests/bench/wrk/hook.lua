-- POST Okta event-hook deliveries of EVENTS events each (unique eventId and uuids):
-- wrk ... -s hook.lua URL -- SECRET EVENTS DELAY_MS RUN  (DELAY_MS paces each connection; RUN
-- names this run in every id, so that a second run's deliveries are new, not duplicates)
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local secret, events, pause, run
function init(args)
  secret, events, pause, run = args[1], tonumber(args[2] or "10"), tonumber(args[3] or "0"), args[4] or "run"
end
function delay()
  return pause
end
function request()
  local id = unique()
  local list = {}
  for i = 1, events do
    list[i] = string.format('{"uuid": "ev-%s-%d-%d", "published": "2026-12-07T10:00:00.000Z", "eventType": "user.session.start", ' ..
      '"actor": {"id": "00u1", "type": "User", "alternateId": "a@example.com"}, "target": []}', run, id, i)
  end
  local body = string.format('{"eventType": "com.okta.event_hook", "eventId": "d-%s-%d", "data": {"events": [%s]}}', run, id, table.concat(list, ", "))
  return wrk.format("POST", nil, {["Authorization"] = secret, ["Content-Type"] = "application/json"}, body)
end
