#pragma once
// The SQLite store's records for the service: API tokens and event hook deliveries. Called by
// the store inside its own transactions.
#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace spokeflow::store::sqlite {

bool add_token(sqlite3* db, const ApiToken& token);
std::optional<ApiToken> token_by_hash(sqlite3* db, const std::string& hash);
std::vector<ApiToken> list_tokens(sqlite3* db);
bool revoke_token(sqlite3* db, const std::string& name, std::int64_t now_ms);
void note_token_used(sqlite3* db, const std::string& name, std::int64_t at);

void add_ui_session(sqlite3* db, const UiSession& session, std::size_t keep_at_most);
std::optional<UiSession> ui_session(sqlite3* db, const std::string& id_hash);
bool end_ui_session(sqlite3* db, const std::string& id_hash);

bool record_delivery(sqlite3* db, const HookDelivery& delivery);
std::optional<HookDelivery> delivery(sqlite3* db, const std::string& event_id);
bool record_redelivery(sqlite3* db, const std::string& event_id, std::int64_t at);
std::vector<HookDelivery> recent_deliveries(sqlite3* db, int limit, const DeliveryCursor& after);

bool record_fire(sqlite3* db, const ScheduleFire& fire);
std::optional<ScheduleFire> last_fire(sqlite3* db, const std::string& flow, const std::string& trigger, bool enqueued_only);
std::vector<ScheduleFire> recent_fires(sqlite3* db, const std::string& flow, int limit);

}  // namespace spokeflow::store::sqlite
