// okta-sim: a user's MFA factors, /api/v1/users/{id}/factors[/...]: enroll, list, catalog,
// security questions, get, update, delete and activate.
#include <algorithm>

#include "sim.hpp"

namespace oktasim {

Response Sim::user_factors(const Request& req, User& u, const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  Response r;
  auto factor_json = [&](const Factor& f) {
    json j = f.body;
    j["id"] = f.id;
    j["status"] = f.status;
    j["created"] = f.created;
    j["lastUpdated"] = f.lastUpdated;
    const std::string self = base_ + "/api/v1/users/" + u.id + "/factors/" + f.id;
    json links = {{"self", {{"href", self}, {"hints", {{"allow", {"GET", "DELETE"}}}}}},
                  {"user", {{"href", base_ + "/api/v1/users/" + u.id}, {"hints", {{"allow", {"GET"}}}}}}};
    if (f.status == "PENDING_ACTIVATION")
      links["activate"] = {{"href", self + "/lifecycle/activate"}, {"hints", {{"allow", {"POST"}}}}};
    j["_links"] = links;
    return j;
  };
  if (seg.size() == 5) {
    if (m == "GET") {
      json arr = json::array();
      std::vector<const Factor*> fs;
      for (const auto& [id, f] : factors_)
        if (f.user_id == u.id) fs.push_back(&f);
      std::sort(fs.begin(), fs.end(), [](const Factor* a, const Factor* b) { return a->seq < b->seq; });
      for (const auto* f : fs) arr.push_back(factor_json(*f));
      r.set_json(arr);
      return r;
    }
    if (m == "POST") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      const std::string type = body.value("factorType", "");
      static const std::map<std::string, std::string> prefixes = {
          {"sms", "mbl"}, {"call", "clf"}, {"email", "emf"}, {"question", "ufs"}, {"token:software:totp", "ost"},
          {"push", "opf"}, {"webauthn", "fwf"}, {"token:hotp", "chf"}};
      auto pit = prefixes.find(type);
      if (pit == prefixes.end()) return validation("factorType", {"factorType: Invalid factor type " + type});
      for (const auto& [id, f] : factors_)
        if (f.user_id == u.id && f.body.value("factorType", "") == type)
          return error(400, "E0000001", "Api validation failed: factorEnrollRequest",
                       {"A factor of this type is already set up."});
      Factor f;
      f.id = new_id(pit->second);
      f.seq = next_seq();
      seq_of_[f.id] = f.seq;
      f.user_id = u.id;
      f.created = f.lastUpdated = iso_now();
      f.body = {{"factorType", type},
                {"provider", body.value("provider", "OKTA")},
                {"vendorName", body.value("provider", "OKTA")},
                {"profile", body.value("profile", json::object())}};
      if (type == "question") {
        f.body["profile"].erase("answer");
        f.status = "ACTIVE";
      }
      if (type == "email") f.status = "ACTIVE";
      emit("user.mfa.factor.activate", "User set up factor", {{{"id", u.id}, {"type", "User"}}});
      const std::string fid = f.id;
      factors_.emplace(fid, std::move(f));
      r.set_json(factor_json(factors_.at(fid)));
      return r;
    }
    return method_not_allowed();
  }
  if (seg.size() == 6 && seg[5] == "catalog") {
    if (m != "GET") return method_not_allowed();
    json arr = json::array();
    for (const char* t : {"sms", "call", "question", "token:software:totp", "email"})
      arr.push_back({{"factorType", t}, {"provider", t == std::string("token:software:totp") ? "GOOGLE" : "OKTA"},
                     {"vendorName", "OKTA"}, {"status", "NOT_SETUP"}, {"enrollment", "OPTIONAL"}});
    r.set_json(arr);
    return r;
  }
  if (seg.size() == 6 && seg[5] == "questions") {
    if (m != "GET") return method_not_allowed();
    r.set_json(json::array({{{"question", "disliked_food"}, {"questionText", "What is the food you least liked as a child?"}},
                            {{"question", "name_of_first_plush_toy"}, {"questionText", "What is the name of your first stuffed animal?"}},
                            {{"question", "first_award"}, {"questionText", "What did you earn your first medal or award for?"}}}));
    return r;
  }
  auto it = factors_.find(seg[5]);
  if (it == factors_.end() || it->second.user_id != u.id) return not_found(seg[5], "UserFactor");
  Factor& f = it->second;
  if (seg.size() == 6) {
    if (m == "GET") {
      r.set_json(factor_json(f));
      return r;
    }
    if (m == "DELETE") {
      factors_.erase(it);
      emit("user.mfa.factor.deactivate", "Reset factor for user", {{{"id", u.id}, {"type", "User"}}});
      r.status = 204;
      return r;
    }
    if (m == "PUT") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      if (body.contains("profile") && body["profile"].is_object()) {
        json p = body["profile"];
        p.erase("answer");
        f.body["profile"] = p;
      }
      f.lastUpdated = iso_now();
      r.set_json(factor_json(f));
      return r;
    }
    return method_not_allowed();
  }
  if (seg.size() == 8 && seg[6] == "lifecycle" && seg[7] == "activate") {
    if (m != "POST") return method_not_allowed();
    f.status = "ACTIVE";
    f.lastUpdated = iso_now();
    r.set_json(factor_json(f));
    return r;
  }
  return error(404, "E0000007", "Not found: Resource not found: factors");
}

}  // namespace oktasim
