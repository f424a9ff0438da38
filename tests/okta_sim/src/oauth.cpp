// okta-sim: the org authorization server: the token endpoint (client_credentials with a private-key JWT,
// DPoP with the use_dpop_nonce challenge, authorization_code with PKCE, refresh_token with optional
// rotation), /authorize (auto-consent, loopback redirects only), /revoke, and DPoP checks on API calls.
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
  // The sim answers on 127.0.0.1; clients may call it localhost too (over http or https).
  const std::string u = strip_query(url);
  if (u == base + path) return true;
  for (const char* scheme : {"http://", "https://"}) {
    const std::string ip = std::string(scheme) + "127.0.0.1:", name = std::string(scheme) + "localhost:";
    if (base.rfind(ip, 0) == 0 && u == name + base.substr(ip.size()) + path) return true;
    if (base.rfind(name, 0) == 0 && u == ip + base.substr(name.size()) + path) return true;
  }
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
  std::string refresh_token;  // issued with the answer (code and refresh grants)
  std::string user_id;        // whom the token acts for (code and refresh grants)
  if (grant == "client_credentials") {
    if (get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
        get("client_assertion").empty())
      return oauth_error(401, "invalid_client", "Client authentication failed. Either the client or the client credentials are invalid.");
    const std::string assertion = get("client_assertion");
    Response err;
    if (!check_client_assertion(assertion, get("client_id"), "/oauth2/v1/token", client, err)) return err;
    jose::json header, claims;
    jose::decode_jws(assertion, header, claims);
    const std::string jti = claims.value("jti", "");
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
      IssuedToken t{client->client_id, granted, now + cfg_.token_lifetime_seconds, jkt, {}};
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
  } else if (grant == "refresh_token" || grant == "authorization_code") {
    Response err;
    if (!oauth_client_auth(req, form, "/oauth2/v1/token", client, err)) return err;
    if (grant == "authorization_code") {
      auto cit = auth_codes_.find(get("code"));
      if (cit == auth_codes_.end() || cit->second.expires_at <= now || cit->second.client_id != client->client_id) {
        if (cit != auth_codes_.end()) auth_codes_.erase(cit);
        return oauth_error(400, "invalid_grant", "The authorization code is invalid or has expired.");
      }
      const AuthCode code = cit->second;
      auth_codes_.erase(cit);  // single use, whatever happens next
      if (get("redirect_uri") != code.redirect_uri)
        return oauth_error(400, "invalid_grant",
                           "The 'redirect_uri' does not match the redirection URI used in the authorization request.");
      if (!code.code_challenge.empty()) {
        const std::string verifier = get("code_verifier");
        if (verifier.size() < 43 || verifier.size() > 128)
          return oauth_error(400, "invalid_request", "The code_verifier is missing or its length is not between 43 and 128.");
        if (jose::sha256_b64url(verifier) != code.code_challenge)
          return oauth_error(400, "invalid_grant", "PKCE verification failed.");
      }
      granted = code.scopes;
      user_id = code.user_id;
      if (granted.count("offline_access")) {
        refresh_token = rng_.token(43);
        refresh_tokens_[refresh_token] = RefreshGrant{client->client_id, granted, code.user_id, 0};
      }
    } else {
      auto rit = refresh_tokens_.find(get("refresh_token"));
      if (rit == refresh_tokens_.end() || rit->second.client_id != client->client_id ||
          (rit->second.expires_at != 0 && rit->second.expires_at <= now))
        return oauth_error(400, "invalid_grant", "The refresh token is invalid or expired.");
      granted = rit->second.scopes;
      user_id = rit->second.user_id;
      // A narrower scope may be asked for; never a wider one.
      if (!get("scope").empty()) {
        std::set<std::string> asked;
        std::string sc = get("scope");
        for (std::size_t p = 0; p < sc.size();) {
          std::size_t e = sc.find(' ', p);
          if (e == std::string::npos) e = sc.size();
          if (e > p) asked.insert(sc.substr(p, e - p));
          p = e + 1;
        }
        for (const auto& x : asked)
          if (!granted.count(x)) return oauth_error(400, "invalid_scope", "The following scopes are not allowed: " + x);
        granted = asked;
      }
      refresh_token = rit->first;
      if (client->rotate_refresh_token) {
        // Like Okta's rotation: the old token keeps working for a 30 s grace period.
        const RefreshGrant kept{client->client_id, rit->second.scopes, rit->second.user_id, 0};
        if (rit->second.expires_at == 0) rit->second.expires_at = now + 30;
        refresh_token = rng_.token(43);
        refresh_tokens_[refresh_token] = kept;
      }
    }
  } else if (grant.empty()) {
    return oauth_error(400, "invalid_request", "The grant_type parameter is required.");
  } else {
    return oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported: " + grant);
  }
  IssuedToken t{client->client_id, granted, now + cfg_.token_lifetime_seconds, std::nullopt, user_id};
  const std::string tok = rng_.token(64);
  tokens_[tok] = t;
  std::string scopes;
  for (const auto& s : granted) scopes += (scopes.empty() ? "" : " ") + s;
  Response r;
  json body = {{"token_type", "Bearer"}, {"expires_in", cfg_.token_lifetime_seconds}, {"access_token", tok}, {"scope", scopes}};
  if (!refresh_token.empty()) body["refresh_token"] = refresh_token;
  r.set_json(body);
  r.headers.emplace_back("Cache-Control", "no-cache, no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

bool Sim::check_client_assertion(const std::string& assertion, const std::string& form_client_id, const std::string& path,
                                 const OAuthClient*& client, Response& err) {
  const auto now = epoch_seconds(Clock::now());
  auto fail = [&](const std::string& why) {
    err = oauth_error(401, "invalid_client", why);
    return false;
  };
  jose::json header, claims;
  if (!jose::decode_jws(assertion, header, claims)) return fail("The client_assertion token is malformed.");
  const std::string iss = claims.value("iss", ""), sub = claims.value("sub", "");
  auto cit = clients_.find(iss);
  if (iss.empty() || iss != sub || cit == clients_.end() || (!form_client_id.empty() && form_client_id != iss))
    return fail("The client_assertion token has an invalid iss or sub, or the client is unknown.");
  client = &cit->second;
  std::string why;
  jose::Pkey key = client->jwk.is_object() ? jose::from_jwk(client->jwk, why) : jose::from_pem(client->public_key_pem, why);
  if (!key) return fail("The client has no usable public key: " + why);
  if (!jose::verify_jws(assertion, key.get(), header, claims, why))
    return fail("The client_assertion signature could not be verified.");
  if (!claims.contains("aud") || !claims["aud"].is_string() || !same_endpoint(claims["aud"].get<std::string>(), base_, path))
    return fail("The audience [aud] claim in the client_assertion token is invalid.");
  if (!claims.contains("exp") || !claims["exp"].is_number() || claims["exp"].get<long long>() <= now)
    return fail("The client_assertion token is expired.");
  const long long iat = claims.contains("iat") && claims["iat"].is_number() ? claims["iat"].get<long long>() : now;
  if (claims["exp"].get<long long>() - iat > 3600)
    return fail("The client_assertion token has an expiration too far in the future.");
  const std::string jti = claims.value("jti", "");
  if (jti.empty()) return fail("The client_assertion token has no jti claim.");
  if (used_jtis_.count(jti)) return fail("The client_assertion token has already been used.");
  return true;
}

bool Sim::oauth_client_auth(const Request& req, const Query& form, const std::string& path, const OAuthClient*& client,
                            Response& err) {
  auto get = [&](const char* k) {
    const auto* v = query_get(form, k);
    return v ? *v : std::string();
  };
  auto fail = [&] {
    err = oauth_error(401, "invalid_client", "Client authentication failed. Either the client or the client credentials are invalid.");
    return false;
  };
  if (!get("client_assertion").empty()) {
    if (get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") return fail();
    if (!check_client_assertion(get("client_assertion"), get("client_id"), path, client, err)) return false;
    jose::json header, claims;
    jose::decode_jws(get("client_assertion"), header, claims);
    used_jtis_.insert(claims.value("jti", ""));
    return true;
  }
  std::string id = get("client_id"), secret = get("client_secret");
  bool secret_given = query_get(form, "client_secret") != nullptr;
  if (const std::string* h = req.header("Authorization"); h && starts_with_ci(*h, "Basic ")) {
    std::string decoded;
    if (!base64url_decode(trim(h->substr(6)), decoded)) return fail();
    const auto colon = decoded.find(':');
    if (colon == std::string::npos) return fail();
    // RFC 6749 2.3.1: both halves are form-encoded before Basic encoding.
    const std::string basic_id = url_decode(decoded.substr(0, colon), true);
    if (!id.empty() && id != basic_id) return fail();
    id = basic_id;
    secret = url_decode(decoded.substr(colon + 1), true);
    secret_given = true;
  }
  auto cit = clients_.find(id);
  if (id.empty() || cit == clients_.end()) return fail();
  client = &cit->second;
  if (!client->client_secret.empty()) {
    if (!secret_given || secret != client->client_secret) return fail();
  } else if (secret_given || client->jwk.is_object() || !client->public_key_pem.empty()) {
    // A key-based client proves itself with a client_assertion; a public client sends no secret.
    return fail();
  }
  return true;
}

void Sim::seed_refresh_tokens() {
  for (const auto& [id, c] : clients_)
    if (!c.refresh_token.empty()) {
      // A seeded refresh token stands for a past consent to the client's scopes with offline_access.
      std::set<std::string> scopes = c.scopes;
      scopes.insert("offline_access");
      refresh_tokens_[c.refresh_token] = RefreshGrant{id, scopes, admin_user_id_, 0};
    }
}

User* Sim::me_user(const Request& req) {
  const std::string* h = req.header("Authorization");
  if (!h) return nullptr;
  if (starts_with_ci(*h, "SSWS ")) return find_user(admin_user_id_);
  const bool dpop = starts_with_ci(*h, "DPoP ");
  if (!dpop && !starts_with_ci(*h, "Bearer ")) return nullptr;
  auto it = tokens_.find(trim(std::string_view(*h).substr(dpop ? 5 : 7)));
  // A client_credentials token acts for no user: `me` does not exist for it.
  if (it == tokens_.end() || it->second.user_id.empty()) return nullptr;
  return find_user(it->second.user_id);
}

// GET /oauth2/v1/authorize: no sign-in page; the request is consented to at once (auto-consent)
// and answered with a 302 to the registered loopback redirect URI.
Response Sim::oauth_authorize(const Request&, const Query& q) {
  auto get = [&](const char* k) {
    const auto* v = query_get(q, k);
    return v ? *v : std::string();
  };
  auto cit = clients_.find(get("client_id"));
  if (get("client_id").empty() || cit == clients_.end())
    return oauth_error(400, "invalid_client", "The 'client_id' parameter is invalid or the client is unknown.");
  const OAuthClient& client = cit->second;
  const std::string redirect = get("redirect_uri");
  // Without a valid redirect URI, errors cannot be redirected: they are answered here.
  if (redirect.empty() ||
      std::find(client.redirect_uris.begin(), client.redirect_uris.end(), redirect) == client.redirect_uris.end())
    return oauth_error(400, "invalid_request",
                       "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.");
  const std::string state = get("state");
  auto back = [&](const std::vector<std::pair<std::string, std::string>>& params) {
    std::string loc = redirect + (redirect.find('?') == std::string::npos ? "?" : "&");
    bool first = true;
    for (const auto& [k, v] : params) {
      loc += (first ? "" : "&") + k + "=" + url_encode(v);
      first = false;
    }
    if (!state.empty()) loc += "&state=" + url_encode(state);
    Response r;
    r.status = 302;
    r.headers.emplace_back("Location", loc);
    r.headers.emplace_back("Cache-Control", "no-cache, no-store");
    return r;
  };
  auto error_back = [&](const std::string& err, const std::string& desc) {
    return back({{"error", err}, {"error_description", desc}});
  };
  if (get("response_type") != "code")
    return error_back("unsupported_response_type", "The response type is not supported by the authorization server. Configured response types: [code].");
  if (state.empty()) return error_back("invalid_request", "The authorization request must contain a 'state' parameter.");
  const std::string challenge = get("code_challenge"), method = get("code_challenge_method");
  if (challenge.empty() && client.client_secret.empty())
    return error_back("invalid_request", "PKCE code challenge is required when the token endpoint authentication method is 'NONE'.");
  if (!challenge.empty() && method != "S256")
    return error_back("invalid_request", "'code_challenge_method' must be 'S256'.");
  if (!challenge.empty() && (challenge.size() < 43 || challenge.size() > 128))
    return error_back("invalid_request", "'code_challenge' must be between 43 and 128 characters.");
  std::set<std::string> scopes;
  const std::string sc = get("scope");
  for (std::size_t p = 0; p < sc.size();) {
    std::size_t e = sc.find(' ', p);
    if (e == std::string::npos) e = sc.size();
    const std::string s = sc.substr(p, e - p);
    if (!s.empty()) {
      const bool standard = s == "openid" || s == "profile" || s == "email" || s == "offline_access";
      if (!standard && !client.scopes.count(s))
        return error_back("invalid_scope", "The following scopes are not allowed: " + s);
      scopes.insert(s);
    }
    p = e + 1;
  }
  if (scopes.empty()) return error_back("invalid_scope", "The authorization request must contain a scope.");
  if (auth_codes_.size() > 10000) auth_codes_.clear();
  const std::string code = rng_.token(43);
  // Auto-consent: the org's admin user is the one who "signed in".
  auth_codes_[code] = AuthCode{client.client_id, redirect, challenge, admin_user_id_, scopes, epoch_seconds(Clock::now()) + 60};
  return back({{"code", code}});
}

// POST /oauth2/v1/revoke (RFC 7009): the client authenticates; an unknown token or one of
// another client is not an error, it is simply not revoked.
Response Sim::oauth_revoke(const Request& req) {
  bool ok = true;
  const Query form = parse_query(req.body, &ok);
  const std::string* ct = req.header("Content-Type");
  if (!ok || !ct || lower(*ct).find("application/x-www-form-urlencoded") == std::string::npos)
    return oauth_error(400, "invalid_request", "The request must be application/x-www-form-urlencoded.");
  const OAuthClient* client = nullptr;
  Response err;
  if (!oauth_client_auth(req, form, "/oauth2/v1/revoke", client, err)) return err;
  const std::string* token = query_get(form, "token");
  if (!token || token->empty()) return oauth_error(400, "invalid_request", "The 'token' parameter is required.");
  const std::string* hint = query_get(form, "token_type_hint");
  if (hint && *hint != "access_token" && *hint != "refresh_token" && *hint != "device_secret")
    return oauth_error(400, "unsupported_token_type", "The token type is not supported: " + *hint);
  if (auto it = tokens_.find(*token); it != tokens_.end() && it->second.client_id == client->client_id) tokens_.erase(it);
  if (auto it = refresh_tokens_.find(*token); it != refresh_tokens_.end() && it->second.client_id == client->client_id)
    refresh_tokens_.erase(it);
  Response r;
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
