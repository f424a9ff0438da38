#pragma once
// The PostgreSQL store's records for the service: API tokens, event hook deliveries and
// schedule fires. Called by the store inside its own transactions. Uniqueness (a token's name,
// a delivery's eventId, a fire's flow, trigger and instant) is the tables' constraints', so it
// holds across every process sharing the database.
#include <optional>
#include <string>
#include <vector>

#include "store/pg_conn.hpp"
#include "store/store.hpp"

namespace spokeflow::store::pg {

bool add_token(Conn& c, const ApiToken& token);
std::optional<ApiToken> token_by_hash(Conn& c, const std::string& hash);
std::vector<ApiToken> list_tokens(Conn& c);
bool revoke_token(Conn& c, const std::string& name, std::int64_t now_ms);
void note_token_used(Conn& c, const std::string& name, std::int64_t at);

void add_ui_session(Conn& c, const UiSession& session, std::size_t keep_at_most);
std::optional<UiSession> ui_session(Conn& c, const std::string& id_hash);
bool end_ui_session(Conn& c, const std::string& id_hash);

bool record_delivery(Conn& c, const HookDelivery& delivery);
std::optional<HookDelivery> delivery(Conn& c, const std::string& event_id);
bool record_redelivery(Conn& c, const std::string& event_id, std::int64_t at);
// Newest first, after the cursor (an empty event_id: from the newest).
std::vector<HookDelivery> recent_deliveries(Conn& c, int limit, const DeliveryCursor& after);

bool record_fire(Conn& c, const ScheduleFire& fire);
std::optional<ScheduleFire> last_fire(Conn& c, const std::string& flow, const std::string& trigger, bool enqueued_only);
std::vector<ScheduleFire> recent_fires(Conn& c, const std::string& flow, int limit);

}  // namespace spokeflow::store::pg
