#include "store/pg_service.hpp"

#include "common/json_text.hpp"

namespace spokeflow::store::pg {
namespace {

constexpr const char* kTokenColumns =
    "SELECT name, role, hash, created_at, expires_at, revoked_at, last_used_at FROM api_tokens";

ApiToken read_token(const Result& r, int i) {
  ApiToken t;
  t.name = r.text(i, 0);
  t.role = r.text(i, 1);
  t.hash = r.text(i, 2);
  t.created_at = r.integer(i, 3);
  t.expires_at = r.integer(i, 4);
  t.revoked_at = r.integer(i, 5);
  t.last_used_at = r.integer(i, 6);
  return t;
}

constexpr const char* kDeliveryColumns =
    "SELECT event_id, hook, received_at, events, started, redeliveries, last_redelivered_at FROM hook_deliveries";

HookDelivery read_delivery(const Result& r, int i) {
  HookDelivery d;
  d.event_id = r.text(i, 0);
  d.hook = r.text(i, 1);
  d.received_at = r.integer(i, 2);
  d.events = static_cast<int>(r.integer(i, 3));
  d.started = r.json(i, 4);
  d.redeliveries = static_cast<int>(r.integer(i, 5));
  d.last_redelivered_at = r.integer(i, 6);
  return d;
}

constexpr const char* kFireColumns =
    "SELECT flow, trigger, scheduled_at, recorded_at, outcome, execution_id, missed FROM schedule_fires";

ScheduleFire read_fire(const Result& r, int i) {
  ScheduleFire f;
  f.flow = r.text(i, 0);
  f.trigger = r.text(i, 1);
  f.scheduled_at = r.integer(i, 2);
  f.recorded_at = r.integer(i, 3);
  f.outcome = r.text(i, 4);
  f.execution_id = r.text(i, 5);
  f.missed = r.integer(i, 6);
  return f;
}

// Prepared once per connection under `name` (one name, one statement text).
template <class Read>
auto rows(Conn& c, const char* name, const std::string& sql, const Params& p, Read read) {
  Result r = c.run(name, sql.c_str(), p);
  std::vector<decltype(read(r, 0))> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(r, i));
  return out;
}
template <class Read>
auto first_row(Conn& c, const char* name, const std::string& sql, const Params& p, Read read) {
  auto all = rows(c, name, sql + " LIMIT 1", p, read);
  return all.empty() ? std::nullopt : std::make_optional(std::move(all.front()));
}
// A write that changes one row or, refused by a constraint or a condition, none.
bool changed_one(Conn& c, const char* name, const char* sql, const Params& p) { return c.run(name, sql, p).affected() == 1; }

}  // namespace

bool record_fire(Conn& c, const ScheduleFire& f) {
  Params p;
  p.add(f.flow).add(f.trigger).add(f.scheduled_at).add(f.recorded_at).add(f.outcome).add_or_null(f.execution_id).add(f.missed);
  return changed_one(c, "record_fire",
                     "INSERT INTO schedule_fires(flow, trigger, scheduled_at, recorded_at, outcome, execution_id, missed) "
                     "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                     p);
}

std::optional<ScheduleFire> last_fire(Conn& c, const std::string& flow, const std::string& trigger, bool enqueued_only) {
  Params p;
  p.add(flow).add(trigger);
  return first_row(c, enqueued_only ? "last_enqueued_fire" : "last_fire",
                   std::string(kFireColumns) + " WHERE flow = $1 AND trigger = $2" +
                       (enqueued_only ? " AND outcome = 'enqueued'" : "") + " ORDER BY scheduled_at DESC",
                   p, read_fire);
}

std::vector<ScheduleFire> recent_fires(Conn& c, const std::string& flow, int limit) {
  Params p;
  p.add(flow).add(static_cast<std::int64_t>(limit));
  return rows(c, "recent_fires", std::string(kFireColumns) + " WHERE $1::text = '' OR flow = $1 ORDER BY scheduled_at DESC LIMIT $2", p,
              read_fire);
}

bool add_token(Conn& c, const ApiToken& t) {
  Params p;
  p.add(t.name).add(t.role).add(t.hash).add(t.created_at).add_time(t.expires_at);
  return changed_one(c, "add_token",
                     "INSERT INTO api_tokens(name, role, hash, created_at, expires_at) VALUES($1, $2, $3, $4, $5) "
                     "ON CONFLICT DO NOTHING",
                     p);
}

std::optional<ApiToken> token_by_hash(Conn& c, const std::string& hash) {
  Params p;
  p.add(hash);
  return first_row(c, "token_by_hash", std::string(kTokenColumns) + " WHERE hash = $1", p, read_token);
}

std::vector<ApiToken> list_tokens(Conn& c) {
  return rows(c, "list_tokens", std::string(kTokenColumns) + " ORDER BY created_at, name", Params(), read_token);
}

void note_token_used(Conn& c, const std::string& name, std::int64_t at) {
  Params p;
  p.add(name).add(at);
  c.run("note_token_used",
        "UPDATE api_tokens SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE name = $1", p);
}

bool revoke_token(Conn& c, const std::string& name, std::int64_t now_ms) {
  Params p;
  p.add(name).add(now_ms);
  return changed_one(c, "revoke_token", "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL", p);
}

void add_ui_session(Conn& c, const UiSession& u, std::size_t keep_at_most) {
  Params gone;
  gone.add(u.created_at);
  c.run("ui_sessions_expired", "DELETE FROM ui_sessions WHERE expires_at <= $1", gone);
  Params add;
  add.add(u.id_hash).add(u.token_hash).add(u.created_at).add(u.expires_at);
  c.run("add_ui_session", "INSERT INTO ui_sessions(id_hash, token_hash, created_at, expires_at) VALUES($1, $2, $3, $4)",
        add);
  Params keep;
  keep.add(static_cast<std::int64_t>(keep_at_most));
  c.run("ui_sessions_oldest",
        "DELETE FROM ui_sessions WHERE id_hash IN "
        "(SELECT id_hash FROM ui_sessions ORDER BY created_at DESC, id_hash OFFSET $1)",
        keep);
}

std::optional<UiSession> ui_session(Conn& c, const std::string& id_hash) {
  Params p;
  p.add(id_hash);
  return first_row(c, "ui_session", "SELECT id_hash, token_hash, created_at, expires_at FROM ui_sessions WHERE id_hash = $1",
                   p, [](const Result& r, int i) {
                     return UiSession{r.text(i, 0), r.text(i, 1), r.integer(i, 2), r.integer(i, 3)};
                   });
}

bool end_ui_session(Conn& c, const std::string& id_hash) {
  Params p;
  p.add(id_hash);
  return changed_one(c, "end_ui_session", "DELETE FROM ui_sessions WHERE id_hash = $1", p);
}

bool record_delivery(Conn& c, const HookDelivery& d) {
  Params p;
  p.add(d.event_id).add(d.hook).add(d.received_at).add(static_cast<std::int64_t>(d.events)).add(dump_json(d.started))
      .add(static_cast<std::int64_t>(d.redeliveries)).add_time(d.last_redelivered_at);
  return changed_one(c, "record_delivery",
                     "INSERT INTO hook_deliveries(event_id, hook, received_at, events, started, redeliveries, "
                     "last_redelivered_at) VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                     p);
}

bool record_redelivery(Conn& c, const std::string& event_id, std::int64_t at) {
  Params p;
  p.add(event_id).add(at);
  return changed_one(c, "record_redelivery",
                     "UPDATE hook_deliveries SET redeliveries = redeliveries + 1, last_redelivered_at = $2 "
                     "WHERE event_id = $1",
                     p);
}

std::optional<HookDelivery> delivery(Conn& c, const std::string& event_id) {
  Params p;
  p.add(event_id);
  return first_row(c, "delivery", std::string(kDeliveryColumns) + " WHERE event_id = $1", p, read_delivery);
}

std::vector<HookDelivery> recent_deliveries(Conn& c, int limit, const DeliveryCursor& after) {
  Params p;
  p.add(static_cast<std::int64_t>(limit)).add(after.event_id).add(after.received_at);
  return rows(c, "recent_deliveries",
              std::string(kDeliveryColumns) +
                  " WHERE $2 = '' OR received_at < $3 OR (received_at = $3 AND event_id > $2)"
                  " ORDER BY received_at DESC, event_id LIMIT $1",
              p, read_delivery);
}

}  // namespace spokeflow::store::pg
