#include "store/sqlite_service.hpp"

#include "common/json_text.hpp"
#include "store/sqlite_db.hpp"

namespace spokeflow::store::sqlite {
namespace {

constexpr const char* kTokenColumns =
    "SELECT name, role, hash, created_at, expires_at, revoked_at, last_used_at FROM api_tokens";

ApiToken read_token(const Statement& s) {
  ApiToken t;
  t.name = s.text(0);
  t.role = s.text(1);
  t.hash = s.text(2);
  t.created_at = s.integer(3);
  t.expires_at = s.integer(4);
  t.revoked_at = s.integer(5);
  t.last_used_at = s.integer(6);
  return t;
}

constexpr const char* kDeliveryColumns =
    "SELECT event_id, hook, received_at, events, started, redeliveries, last_redelivered_at FROM hook_deliveries";

HookDelivery read_delivery(const Statement& s) {
  HookDelivery d;
  d.event_id = s.text(0);
  d.hook = s.text(1);
  d.received_at = s.integer(2);
  d.events = static_cast<int>(s.integer(3));
  d.started = s.json(4);
  d.redeliveries = static_cast<int>(s.integer(5));
  d.last_redelivered_at = s.integer(6);
  return d;
}

constexpr const char* kFireColumns =
    "SELECT flow, trigger, scheduled_at, recorded_at, outcome, execution_id, missed FROM schedule_fires";

ScheduleFire read_fire(const Statement& s) {
  ScheduleFire f;
  f.flow = s.text(0);
  f.trigger = s.text(1);
  f.scheduled_at = s.integer(2);
  f.recorded_at = s.integer(3);
  f.outcome = s.text(4);
  f.execution_id = s.text(5);
  f.missed = s.integer(6);
  return f;
}

// Every row of `sql` (columns as `read` expects), or the first only.
template <class Read, class... Binds>
auto rows(sqlite3* db, const std::string& sql, Read read, Binds&&... binds) {
  Statement s(db, sql.c_str());
  int i = 0;
  (s.bind(++i, std::forward<Binds>(binds)), ...);
  std::vector<decltype(read(s))> out;
  while (s.next()) out.push_back(read(s));
  return out;
}
template <class Read, class... Binds>
auto first_row(sqlite3* db, const std::string& sql, Read read, Binds&&... binds) {
  auto all = rows(db, sql + " LIMIT 1", read, std::forward<Binds>(binds)...);
  return all.empty() ? std::nullopt : std::make_optional(std::move(all.front()));
}

}  // namespace

bool record_fire(sqlite3* db, const ScheduleFire& f) {
  Statement s(db,
              "INSERT INTO schedule_fires(flow, trigger, scheduled_at, recorded_at, outcome, execution_id, missed) "
              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING");
  s.bind(1, f.flow).bind(2, f.trigger).bind(3, f.scheduled_at).bind(4, f.recorded_at).bind(5, f.outcome)
      .bind_or_null(6, f.execution_id).bind(7, f.missed).run();
  return sqlite3_changes(db) == 1;
}

std::optional<ScheduleFire> last_fire(sqlite3* db, const std::string& flow, const std::string& trigger, bool enqueued_only) {
  return first_row(db,
                   std::string(kFireColumns) + " WHERE flow = ?1 AND trigger = ?2" +
                       (enqueued_only ? " AND outcome = 'enqueued'" : "") + " ORDER BY scheduled_at DESC",
                   read_fire, flow, trigger);
}

std::vector<ScheduleFire> recent_fires(sqlite3* db, const std::string& flow, int limit) {
  return rows(db, std::string(kFireColumns) + " WHERE ?1 = '' OR flow = ?1 ORDER BY scheduled_at DESC LIMIT ?2",
              read_fire, flow, static_cast<std::int64_t>(limit));
}

void add_ui_session(sqlite3* db, const UiSession& u, std::size_t keep_at_most) {
  Statement gone(db, "DELETE FROM ui_sessions WHERE expires_at <= ?1");
  gone.bind(1, u.created_at).run();
  Statement add(db, "INSERT INTO ui_sessions(id_hash, token_hash, created_at, expires_at) VALUES(?1, ?2, ?3, ?4)");
  add.bind(1, u.id_hash).bind(2, u.token_hash).bind(3, u.created_at).bind(4, u.expires_at).run();
  Statement oldest(db,
                   "DELETE FROM ui_sessions WHERE id_hash IN "
                   "(SELECT id_hash FROM ui_sessions ORDER BY created_at DESC, id_hash LIMIT -1 OFFSET ?1)");
  oldest.bind(1, static_cast<std::int64_t>(keep_at_most)).run();
}

std::optional<UiSession> ui_session(sqlite3* db, const std::string& id_hash) {
  return first_row(
      db, "SELECT id_hash, token_hash, created_at, expires_at FROM ui_sessions WHERE id_hash = ?1",
      [](const Statement& s) { return UiSession{s.text(0), s.text(1), s.integer(2), s.integer(3)}; }, id_hash);
}

bool end_ui_session(sqlite3* db, const std::string& id_hash) {
  Statement s(db, "DELETE FROM ui_sessions WHERE id_hash = ?1");
  s.bind(1, id_hash).run();
  return sqlite3_changes(db) == 1;
}

bool add_token(sqlite3* db, const ApiToken& t) {
  Statement s(db,
              "INSERT INTO api_tokens(name, role, hash, created_at, expires_at) VALUES(?1, ?2, ?3, ?4, ?5) "
              "ON CONFLICT DO NOTHING");
  s.bind(1, t.name).bind(2, t.role).bind(3, t.hash).bind(4, t.created_at).bind_time(5, t.expires_at).run();
  return sqlite3_changes(db) == 1;
}

std::optional<ApiToken> token_by_hash(sqlite3* db, const std::string& hash) {
  return first_row(db, std::string(kTokenColumns) + " WHERE hash = ?1", read_token, hash);
}

std::vector<ApiToken> list_tokens(sqlite3* db) {
  return rows(db, std::string(kTokenColumns) + " ORDER BY created_at, name", read_token);
}

void note_token_used(sqlite3* db, const std::string& name, std::int64_t at) {
  Statement s(db, "UPDATE api_tokens SET last_used_at = max(COALESCE(last_used_at, 0), ?2) WHERE name = ?1");
  s.bind(1, name).bind(2, at).run();
}

bool revoke_token(sqlite3* db, const std::string& name, std::int64_t now_ms) {
  Statement s(db, "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL");
  s.bind(1, name).bind(2, now_ms).run();
  return sqlite3_changes(db) == 1;
}

bool record_delivery(sqlite3* db, const HookDelivery& d) {
  Statement s(db,
              "INSERT INTO hook_deliveries(event_id, hook, received_at, events, started, redeliveries, "
              "last_redelivered_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING");
  s.bind(1, d.event_id).bind(2, d.hook).bind(3, d.received_at).bind(4, static_cast<std::int64_t>(d.events))
      .bind(5, dump_json(d.started)).bind(6, static_cast<std::int64_t>(d.redeliveries))
      .bind_time(7, d.last_redelivered_at).run();
  return sqlite3_changes(db) == 1;
}

bool record_redelivery(sqlite3* db, const std::string& event_id, std::int64_t at) {
  Statement s(db,
              "UPDATE hook_deliveries SET redeliveries = redeliveries + 1, last_redelivered_at = ?2 WHERE event_id = ?1");
  s.bind(1, event_id).bind(2, at).run();
  return sqlite3_changes(db) == 1;
}

std::optional<HookDelivery> delivery(sqlite3* db, const std::string& event_id) {
  return first_row(db, std::string(kDeliveryColumns) + " WHERE event_id = ?1", read_delivery, event_id);
}

std::vector<HookDelivery> recent_deliveries(sqlite3* db, int limit, const DeliveryCursor& after) {
  return rows(db,
              std::string(kDeliveryColumns) +
                  " WHERE ?2 = '' OR received_at < ?3 OR (received_at = ?3 AND event_id > ?2)"
                  " ORDER BY received_at DESC, event_id LIMIT ?1",
              read_delivery, static_cast<std::int64_t>(limit), after.event_id, after.received_at);
}

}  // namespace spokeflow::store::sqlite
