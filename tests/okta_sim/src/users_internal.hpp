// okta-sim: helpers shared by the users files (users.cpp, user_lifecycle.cpp, user_credentials.cpp);
// private to them, not part of the simulator's interface.
#pragma once

#include <string>

#include "sim.hpp"

namespace oktasim {

// A boolean query parameter (defined in users.cpp): absent gives def; "false" (any case) or "0"
// is false; anything else is true.
bool truthy(const Query& q, const char* key, bool def);

// Okta's default password policy as the simulator enforces it (defined in user_credentials.cpp).
extern const char* const kPasswordRules;
bool password_ok(const std::string& pw, const json& profile);

}  // namespace oktasim
