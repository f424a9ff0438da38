// Fuzz target: the body of an Okta event-hook delivery, as `serve` receives it with the hook's
// secret (serve::HookReceiver): JSON checks, deduplication by eventId and by each event's uuid,
// okta_event triggers with `if:` and `inputs:` over the event, executions enqueued.
// Properties: no crash; the answer is 200, 400 or 413 in the API's error shape; an accepted
// delivery's record names exactly as many new executions as the answer says started, each
// queued with this delivery as its trigger; the same delivery again is a duplicate that starts
// nothing; no execution is made for a refused delivery.
#include <optional>
#include <set>
#include <string>

#include "common/ids.hpp"
#include "serve_rig.hpp"
#include "store/async.hpp"

using namespace spokeflow;

namespace {

serve::HttpResponse deliver(fuzz::ServeRig& rig, std::string body) {
  serve::HttpRequest req;
  req.method = "POST";
  req.target = req.path = "/hooks/okta/okta";
  req.headers.emplace("authorization", fuzz::kHookSecret);
  req.headers.emplace("content-type", "application/json");
  req.body = std::move(body);
  req.request_id = "fuzz";
  return rig.run(rig.hooks->handle(req, "okta"));
}

// The executions created from `since` on (a whole store would be read slower with each input).
std::set<std::string> recent(fuzz::ServeRig& rig, std::int64_t since) {
  store::ExecutionFilter f;
  f.limit = 100'000;
  f.light = true;
  f.created_since = since;
  std::set<std::string> ids;
  for (const auto& e : rig.runtime->store().list_executions(f)) ids.insert(e.id);
  return ids;
}

std::size_t made_since(fuzz::ServeRig& rig, std::int64_t since, const std::set<std::string>& before) {
  std::size_t n = 0;
  for (const auto& id : recent(rig, since)) n += before.count(id) ? 0 : 1;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return -1;  // the service's body cap is larger; this keeps runs quick
  auto& rig = fuzz::serve_rig();
  const std::string body(fuzz::as_text(data, size));
  const std::int64_t since = now_unix_ms() - 5;
  const std::set<std::string> before = recent(rig, since);
  std::optional<std::string> sent_id;  // the eventId, when the body names one
  if (const Json sent = Json::parse(body, nullptr, false); sent.is_object() && sent.contains("eventId") &&
                                                           sent["eventId"].is_string())
    sent_id = sent["eventId"].get<std::string>();
  const bool recorded_before = sent_id && rig.runtime->store().delivery(*sent_id).has_value();
  const serve::HttpResponse r = deliver(rig, body);
  const Json answer = Json::parse(r.body, nullptr, false);
  fuzz::check(answer.is_object(), "the answer is a JSON object", r.body);
  if (r.status != 200) {
    fuzz::check(r.status == 400 || r.status == 413, "a refused delivery gets 400 or 413", r.body);
    fuzz::check(answer["error"]["kind"] == "validation" && answer["error"]["message"].is_string(),
                "a refusal is in the error shape", r.body);
    fuzz::check(made_since(rig, since, before) == 0, "a refused delivery starts nothing");
    // Nor is it recorded: Okta's retry of it, mended, would be taken for a duplicate.
    if (sent_id)
      fuzz::check(rig.runtime->store().delivery(*sent_id).has_value() == recorded_before,
                  "a refused delivery is not recorded", *sent_id);
    return 0;
  }
  const Json sent = Json::parse(body);
  const std::string event_id = sent["eventId"];
  const int started = answer["started"].get<int>();
  fuzz::check(made_since(rig, since, before) == static_cast<std::size_t>(started),
              "the executions made are those the answer counts", r.body);
  if (answer["duplicate"] == true) {
    fuzz::check(started == 0, "a duplicate delivery starts nothing", r.body);
    return 0;
  }
  auto record = rig.runtime->store().delivery(event_id);
  fuzz::check(record.has_value(), "an accepted delivery is recorded", event_id);
  int created = 0;
  for (const Json& row : record->started) {
    if (!row.contains("execution") || row["created"] != true) continue;
    ++created;
    auto rec = rig.runtime->store().get_execution(row["execution"]);
    fuzz::check(rec.has_value(), "a started execution exists", row.dump());
    fuzz::check(rec->status == "queued", "a started execution is queued (nothing runs here)", rec->status);
    fuzz::check(rec->trigger["event_id"] == event_id && rec->trigger["type"] == "okta_event",
                "a started execution's trigger names the delivery", rec->trigger.dump());
  }
  fuzz::check(created == started, "the record names as many new executions as the answer", record->started.dump());
  const serve::HttpResponse again = deliver(rig, body);
  const Json second = Json::parse(again.body, nullptr, false);
  fuzz::check(again.status == 200 && second["duplicate"] == true && second["started"] == 0,
              "the same delivery again is a duplicate that starts nothing", again.body);
  fuzz::check(made_since(rig, since, before) == static_cast<std::size_t>(started),
              "the same delivery again makes no execution", again.body);
  return 0;
}
