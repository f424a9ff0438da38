// okta-sim: user credentials: the password policy and the /credentials/{op} operations
// (forgot_password, change_password, change_recovery_question, forgot_password_recovery_question).
#include <cctype>

#include "sim.hpp"
#include "users_internal.hpp"

namespace oktasim {

const char* const kPasswordRules =
    "password: Password requirements were not met. Password requirements: at least 8 characters, a lowercase "
    "letter, an uppercase letter, a number, no parts of your username.";

bool password_ok(const std::string& pw, const json& profile) {
  if (pw.size() < 8) return false;
  bool lo = false, up = false, dig = false;
  for (const char c : pw) {
    lo = lo || std::islower(static_cast<unsigned char>(c));
    up = up || std::isupper(static_cast<unsigned char>(c));
    dig = dig || std::isdigit(static_cast<unsigned char>(c));
  }
  if (!lo || !up || !dig) return false;
  const std::string login = profile.is_object() && profile.contains("login") && profile["login"].is_string()
                                ? profile["login"].get<std::string>()
                                : "";
  const std::string local = lower(login.substr(0, login.find('@')));
  if (local.size() >= 4 && lower(pw).find(local) != std::string::npos) return false;
  return true;
}

Response Sim::user_credentials(const Request& req, User& u, const std::string& op, const Query& q) {
  Response r;
  const json target = {{"id", u.id}, {"type", "User"}, {"alternateId", u.profile.value("login", "")}};
  auto cred_body = [&] {
    json c = json::object();
    if (u.password) c["password"] = json::object();
    if (u.recovery_question) c["recovery_question"] = {{"question", *u.recovery_question}};
    c["provider"] = {{"type", u.provider_type}, {"name", u.provider_name}};
    return c;
  };
  if (op == "forgot_password") {
    if (u.status != "ACTIVE" && u.status != "PASSWORD_EXPIRED" && u.status != "RECOVERY")
      return error(403, "E0000038", "This operation is not allowed in the user's current status.");
    if (!req.body.empty()) {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded()) return error(400, "E0000003", "The request body was not well-formed.");
      if (body.is_object() && body.contains("recovery_question")) {
        const std::string ans = body["recovery_question"].value("answer", "");
        if (!u.recovery_answer || *u.recovery_answer != ans)
          return error(403, "E0000014", "Update of credentials failed", {"The recovery question answer did not match our records."});
        if (body.contains("password") && body["password"].is_object()) u.password = body["password"].value("value", "");
        u.passwordChanged = iso_now();
        r.set_json(cred_body());
        return r;
      }
    }
    emit("user.account.reset_password", "Forgot password", {target});
    if (truthy(q, "sendEmail", true)) r.set_json(json::object());
    else r.set_json({{"resetPasswordUrl", base_ + "/signin/reset-password/dfp" + rng_.token(17)}});
    return r;
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
  if (op == "change_password") {
    const std::string oldp = body.value("oldPassword", json::object()).value("value", "");
    const std::string newp = body.value("newPassword", json::object()).value("value", "");
    if (!u.password || (!u.password_hashed && *u.password != oldp))
      return error(403, "E0000014", "Update of credentials failed", {"oldPassword: The credentials provided were incorrect."});
    if (!password_ok(newp, u.profile)) return validation("password", {kPasswordRules});
    u.password = newp;
    u.password_hashed = false;
    u.passwordChanged = iso_now();
    u.lastUpdated = *u.passwordChanged;
    if (u.status == "PASSWORD_EXPIRED" || u.status == "RECOVERY") set_status(u, "ACTIVE");
    emit("user.account.update_password", "Update password for user", {target});
    r.set_json(cred_body());
    return r;
  }
  if (op == "change_recovery_question") {
    const std::string pw = body.value("password", json::object()).value("value", "");
    if (!u.password || (!u.password_hashed && *u.password != pw))
      return error(403, "E0000014", "Update of credentials failed", {"password: The credentials provided were incorrect."});
    const json rq = body.value("recovery_question", json::object());
    if (!rq.is_object() || rq.value("question", "").empty())
      return validation("recovery_question", {"recovery_question: The field cannot be left blank"});
    u.recovery_question = rq.value("question", "");
    u.recovery_answer = rq.value("answer", "");
    u.lastUpdated = iso_now();
    r.set_json(cred_body());
    return r;
  }
  if (op == "forgot_password_recovery_question") {
    const json rq = body.value("recovery_question", json::object());
    if (!u.recovery_answer || !rq.is_object() || rq.value("answer", "") != *u.recovery_answer)
      return error(403, "E0000014", "Update of credentials failed", {"The recovery question answer did not match our records."});
    if (body.contains("password") && body["password"].is_object()) {
      u.password = body["password"].value("value", "");
      u.passwordChanged = iso_now();
    }
    r.set_json(cred_body());
    return r;
  }
  return error(404, "E0000007", "Not found: Resource not found: credentials/" + op);
}

}  // namespace oktasim
