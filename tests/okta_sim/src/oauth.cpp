// okta-sim: the org authorization server's token endpoint (client_credentials with a private-key JWT,
// DPoP with the use_dpop_nonce challenge, refresh_token for a registered web app) and DPoP checks on API calls.
#include <algorithm>

#include "jose.hpp"
#include "sim.hpp"

namespace oktasim {

namespace {

Response oauth_error(unsigned status, const std::string& err, const std::string& desc) {
  Response r;
  r.status = status;
  r.set_json({{"error", err}, {"error_description", desc}});
  r.headers.emplace_back("Cache-Control", "no-cache, no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

std::string strip_query(const std::string& url) { return url.substr(0, url.find_first_of("?#")); }

bool same_endpoint(const std::string& url, const std::string& base, const std::string& path) {
  // The sim answers on 127.0.0.1; clients may also call it localhost.
  const std::string u = strip_query(url);
  if (u == base + path) return true;
  const std::string pfx = "http://127.0.0.1:";
  if (base.rfind(pfx, 0) == 0 && u == "http://localhost:" + base.substr(pfx.size()) + path) return true;
  return false;
}

}  // namespace

// Checks a DPoP proof (RFC 9449). Returns an empty string when valid, else the reason; fills jkt.
static std::string check_dpop_proof(const std::string& proof, const std::string& htm, const std::string& base,
                                    const std::string& path, const std::string* access_token, std::set<std::string>& jtis,
                                    std::string& jkt, std::string& nonce_out) {
  jose::json header, claims;
  if (!jose::decode_jws(proof, header, claims)) return "The DPoP proof JWT is malformed.";
  if (header.value("typ", "") != "dpop+jwt") return "The DPoP proof JWT has an invalid typ header.";
  if (!header.contains("jwk") || !header["jwk"].is_object()) return "The DPoP proof JWT has no jwk header.";
  if (header["jwk"].contains("d")) return "The DPoP proof JWT jwk must not hold a private key.";
  std::string err;
  auto key = jose::from_jwk(header["jwk"], err);
  if (!key) return "The DPoP proof JWT jwk is invalid: " + err;
  if (!jose::verify_jws(proof, key.get(), header, claims, err)) return "The DPoP proof JWT signature is invalid.";
  if (claims.value("htm", "") != htm) return "The DPoP proof htm claim does not match the request method.";
  if (!claims.contains("htu") || !claims["htu"].is_string() || !same_endpoint(claims["htu"].get<std::string>(), base, path))
    return "The DPoP proof htu claim does not match the request URL.";
  if (!claims.contains("iat") || !claims["iat"].is_number()) return "The DPoP proof has no iat claim.";
  const auto now = epoch_seconds(Clock::now());
  const auto iat = claims["iat"].get<long long>();
  if (iat > now + 60 || iat < now - 300) return "The DPoP proof iat claim is outside the accepted window.";
  if (!claims.contains("jti") || !claims["jti"].is_string() || claims["jti"].get<std::string>().empty())
    return "The DPoP proof has no jti claim.";
  if (!jtis.insert(claims["jti"].get<std::string>()).second) return "The DPoP proof jti has already been used.";
  if (access_token) {
    if (claims.value("ath", "") != jose::sha256_b64url(*access_token))
      return "The DPoP proof ath claim does not match the access token.";
  }
  nonce_out = claims.value("nonce", "");
  jkt = jose::jwk_thumbprint(header["jwk"]);
  return {};
}

Response Sim::oauth_token(const Request& req) {
  bool ok = true;
  const Query form = parse_query(req.body, &ok);
  const std::string* ct = req.header("Content-Type");
  if (!ok || !ct || lower(*ct).find("application/x-www-form-urlencoded") == std::string::npos)
    return oauth_error(400, "invalid_request", "The request must be application/x-www-form-urlencoded.");
  auto get = [&](const char* k) {
    const auto* v = query_get(form, k);
    return v ? *v : std::string();
  };
  const std::string grant = get("grant_type");
  const auto now = epoch_seconds(Clock::now());
  if (dpop_jtis_.size() > 200000) dpop_jtis_.clear();
  if (used_jtis_.size() > 200000) used_jtis_.clear();
  if (dpop_nonces_.size() > 10000) dpop_nonces_.clear();
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    if (it->second.expires_at <= now) it = tokens_.erase(it);
    else ++it;
  }

  const OAuthClient* client = nullptr;
  std::set<std::string> granted;
  if (grant == "client_credentials") {
    if (get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
        get("client_assertion").empty())
      return oauth_error(401, "invalid_client", "Client authentication failed. Either the client or the client credentials are invalid.");
    const std::string assertion = get("client_assertion");
    jose::json header, claims;
    if (!jose::decode_jws(assertion, header, claims))
      return oauth_error(401, "invalid_client", "The client_assertion token is malformed.");
    const std::string iss = claims.value("iss", ""), sub = claims.value("sub", "");
    auto cit = clients_.find(iss);
    if (iss.empty() || iss != sub || cit == clients_.end() || (!get("client_id").empty() && get("client_id") != iss))
      return oauth_error(401, "invalid_client", "The client_assertion token has an invalid iss or sub, or the client is unknown.");
    client = &cit->second;
    std::string err;
    jose::Pkey key = client->jwk.is_object() ? jose::from_jwk(client->jwk, err) : jose::from_pem(client->public_key_pem, err);
    if (!key) return oauth_error(401, "invalid_client", "The client has no usable public key: " + err);
    if (!jose::verify_jws(assertion, key.get(), header, claims, err))
      return oauth_error(401, "invalid_client", "The client_assertion signature could not be verified.");
    if (!claims.contains("aud") || !claims["aud"].is_string() ||
        !same_endpoint(claims["aud"].get<std::string>(), base_, "/oauth2/v1/token"))
      return oauth_error(401, "invalid_client", "The audience [aud] claim in the client_assertion token is invalid.");
    if (!claims.contains("exp") || !claims["exp"].is_number() || claims["exp"].get<long long>() <= now)
      return oauth_error(401, "invalid_client", "The client_assertion token is expired.");
    const long long iat = claims.contains("iat") && claims["iat"].is_number() ? claims["iat"].get<long long>() : now;
    if (claims["exp"].get<long long>() - iat > 3600)
      return oauth_error(401, "invalid_client", "The client_assertion token has an expiration too far in the future.");
    const std::string jti = claims.value("jti", "");
    if (jti.empty()) return oauth_error(401, "invalid_client", "The client_assertion token has no jti claim.");
    if (used_jtis_.count(jti)) return oauth_error(401, "invalid_client", "The client_assertion token has already been used.");
    const std::string scope = get("scope");
    if (scope.empty()) return oauth_error(400, "invalid_scope", "The authorization server did not grant any scopes.");
    std::size_t p = 0;
    while (p < scope.size()) {
      std::size_t e = scope.find(' ', p);
      if (e == std::string::npos) e = scope.size();
      const std::string s = scope.substr(p, e - p);
      if (!s.empty()) {
        if (!client->scopes.count(s))
          return oauth_error(400, "invalid_scope", "The following scopes are not allowed: " + s);
        granted.insert(s);
      }
      p = e + 1;
    }
    // The jti is spent only once the rest of the request is acceptable (a nonce retry re-signs anyway).
    if (client->dpop && req.header("DPoP")) {
      // checked below; jti recorded after the DPoP nonce round
    } else {
      used_jtis_.insert(jti);
    }
    if (client->dpop) {
      const std::string* proof = req.header("DPoP");
      if (!proof) return oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.");
      std::string jkt, nonce;
      const std::string why = check_dpop_proof(*proof, "POST", base_, "/oauth2/v1/token", nullptr, dpop_jtis_, jkt, nonce);
      if (!why.empty()) return oauth_error(400, "invalid_dpop_proof", why);
      if (nonce.empty() || !dpop_nonces_.count(nonce)) {
        const std::string fresh = rng_.token(22);
        dpop_nonces_.insert(fresh);
        Response r = oauth_error(400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.");
        r.headers.emplace_back("DPoP-Nonce", fresh);
        return r;
      }
      used_jtis_.insert(jti);
      IssuedToken t{client->client_id, granted, now + cfg_.token_lifetime_seconds, jkt};
      const std::string tok = rng_.token(64);
      tokens_[tok] = t;
      std::string scopes;
      for (const auto& s : granted) scopes += (scopes.empty() ? "" : " ") + s;
      Response r;
      r.set_json({{"token_type", "DPoP"}, {"expires_in", cfg_.token_lifetime_seconds}, {"access_token", tok}, {"scope", scopes}});
      r.headers.emplace_back("DPoP-Nonce", nonce);
      r.headers.emplace_back("Cache-Control", "no-cache, no-store");
      r.headers.emplace_back("Pragma", "no-cache");
      return r;
    }
  } else if (grant == "refresh_token") {
    const std::string id = get("client_id");
    auto cit = clients_.find(id);
    if (cit == clients_.end()) return oauth_error(401, "invalid_client", "Client authentication failed.");
    client = &cit->second;
    if (client->refresh_token.empty() || get("refresh_token") != client->refresh_token)
      return oauth_error(400, "invalid_grant", "The refresh token is invalid or expired.");
    granted = client->scopes;
  } else if (grant.empty()) {
    return oauth_error(400, "invalid_request", "The grant_type parameter is required.");
  } else {
    return oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported: " + grant);
  }
  IssuedToken t{client->client_id, granted, now + cfg_.token_lifetime_seconds, std::nullopt};
  const std::string tok = rng_.token(64);
  tokens_[tok] = t;
  std::string scopes;
  for (const auto& s : granted) scopes += (scopes.empty() ? "" : " ") + s;
  Response r;
  json body = {{"token_type", "Bearer"}, {"expires_in", cfg_.token_lifetime_seconds}, {"access_token", tok}, {"scope", scopes}};
  if (grant == "refresh_token") body["refresh_token"] = client->refresh_token;
  r.set_json(body);
  r.headers.emplace_back("Cache-Control", "no-cache, no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

bool Sim::verify_dpop_for_api(const Request& req, const IssuedToken& tok, const std::string& token, Response& out) {
  const std::string* proof = req.header("DPoP");
  auto fail = [&](const std::string& why) {
    out = Response{};
    out.status = 400;
    out.set_json({{"error", "invalid_dpop_proof"}, {"error_description", why}});
    out.headers.emplace_back("WWW-Authenticate", "DPoP error=\"invalid_dpop_proof\", error_description=\"" + why + "\"");
    return false;
  };
  if (!proof) return fail("The DPoP proof JWT header is missing.");
  std::string path = req.path;
  while (path.rfind("//", 0) == 0) path.erase(0, 1);
  std::string jkt, nonce;
  const std::string why = check_dpop_proof(*proof, req.method, base_, path, &token, dpop_jtis_, jkt, nonce);
  if (!why.empty()) return fail(why);
  if (!tok.jkt || *tok.jkt != jkt) return fail("The DPoP proof key does not match the access token binding.");
  return true;
}

}  // namespace oktasim
