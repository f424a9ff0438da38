// okta-sim: user status changes: set_status and the /lifecycle/{op} operations (activate,
// reactivate, deactivate, suspend, unsuspend, unlock, expire_password, reset_password, reset_factors).
#include "sim.hpp"
#include "users_internal.hpp"

namespace oktasim {

void Sim::set_status(User& u, const std::string& st) {
  u.status = st;
  u.transitioning.reset();
  const std::string now = iso_now();
  u.statusChanged = now;
  u.lastUpdated = now;
}

Response Sim::user_lifecycle(const Request& req, User& u, const std::string& op, const Query& q) {
  (void)req;
  Response r;
  // Okta's defaults: activate and the others email unless told not to; reactivate does not.
  const bool send_email = truthy(q, "sendEmail", op != "reactivate");
  const std::string& s = u.status;
  // Built only when an event is emitted (not for refused transitions), without initializer-list copies.
  auto target = [&u] {
    json::object_t t;
    t.reserve(3);
    t.emplace_back("id", u.id);
    t.emplace_back("type", "User");
    t.emplace_back("alternateId", u.profile.value("login", ""));
    return json(std::move(t));
  };
  // The event's target list, built in place (a braced list would copy the target once more).
  auto targets = [&target] {
    std::vector<json> v;
    v.reserve(1);
    v.push_back(target());
    return v;
  };
  auto not_allowed = [&] { return error(403, "E0000038", "This operation is not allowed in the user's current status."); };
  auto activation_body = [&] {
    const std::string tok = rng_.token(20);
    if (send_email) return json::object();
    return json{{"activationUrl", base_ + "/tokens/" + tok + "/verify"}, {"activationToken", tok}};
  };
  if (op == "activate") {
    if (s != "STAGED" && s != "DEPROVISIONED")
      return error(403, "E0000016", "Activation failed because the user is already active");
    set_status(u, u.password ? "ACTIVE" : "PROVISIONED");
    u.activated = u.statusChanged;
    emit("user.lifecycle.activate", "Activate Okta user", targets());
    r.set_json(activation_body());
    return r;
  }
  if (op == "reactivate") {
    if (s != "PROVISIONED" && s != "RECOVERY") return not_allowed();
    emit("user.lifecycle.reactivate", "Reactivate Okta user", targets());
    r.set_json(activation_body());
    return r;
  }
  if (op == "deactivate") {
    if (s != "DEPROVISIONED") {
      set_status(u, "DEPROVISIONED");
      emit("user.lifecycle.deactivate", "Deactivate Okta user", targets());
    }
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "suspend") {
    if (s != "ACTIVE") return validation("Cannot suspend a user that is not active", {});
    set_status(u, "SUSPENDED");
    emit("user.lifecycle.suspend", "Suspend Okta user", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "unsuspend") {
    if (s != "SUSPENDED") return validation("Cannot unsuspend a user that is not suspended", {});
    set_status(u, "ACTIVE");
    emit("user.lifecycle.unsuspend", "Unsuspend Okta user", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "unlock") {
    if (s != "LOCKED_OUT")
      return error(403, "E0000032", "Unlock is not allowed for this user.", {"The user is not locked out."});
    set_status(u, "ACTIVE");
    emit("user.account.unlock", "Unlock user account", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "expire_password" || op == "expire_password_with_temp_password") {
    if (s != "ACTIVE" && s != "PASSWORD_EXPIRED" && s != "LOCKED_OUT" && s != "RECOVERY") return not_allowed();
    const bool temp = op == "expire_password_with_temp_password" || truthy(q, "tempPassword", false);
    set_status(u, "PASSWORD_EXPIRED");
    emit("user.password.expire", "Expire password", targets());  // not an Okta event name guarantee
    if (temp) {
      const std::string tmp = rng_.base62(8);
      u.password = tmp;
      u.passwordChanged = u.lastUpdated;
      r.set_json({{"tempPassword", tmp}});
    } else {
      r.set_json(user_json(u, true));
    }
    return r;
  }
  if (op == "reset_password") {
    if (s == "STAGED" || s == "DEPROVISIONED" || s == "SUSPENDED") return not_allowed();
    set_status(u, "RECOVERY");
    emit("user.account.reset_password", "Reset password", targets());
    if (send_email) r.body = "{}";  // json::object().dump()
    else r.set_json({{"resetPasswordUrl", base_ + "/reset_password/drp" + rng_.token(17)}});
    return r;
  }
  if (op == "reset_factors") {
    if (s == "DEPROVISIONED") return not_allowed();
    for (auto f = factors_.begin(); f != factors_.end();) {
      if (f->second.user_id == u.id) f = factors_.erase(f);
      else ++f;
    }
    emit("user.mfa.factor.reset_all", "Reset all factors for user", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  return error(404, "E0000007", "Not found: Resource not found: lifecycle/" + op);
}

}  // namespace oktasim
