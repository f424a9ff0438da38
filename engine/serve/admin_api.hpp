#pragma once
// The API's administration and overview routes, beside api.hpp's: API tokens (admin), an
// execution's sealed values in clear (admin, each reveal logged), connections and their test
// (list: viewer; test: admin), and what the web view shows of event-hook deliveries and
// schedule fires (viewer). The Api authenticates the caller and hands these routes here.
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connect/client.hpp"
#include "run/engine.hpp"
#include "runtime/runtime.hpp"
#include "serve/catalog.hpp"
#include "serve/http_server.hpp"
#include "serve/tokens.hpp"

namespace spokeflow::serve {

struct AdminOptions {
  run::UnsealFn unseal;                               // opens sealed values (empty: no master key)
  std::shared_ptr<connect::Connections> connections;  // null: no usable connections file
  std::string connections_file;                       // where it was read from
  std::string connections_problem;                    // why there is none ("" when there is)
  std::function<std::int64_t()> clock;                // Unix ms now (tests give their own)
};

class AdminApi {
 public:
  AdminApi(runtime::Runtime& runtime, FlowCatalog& catalog, AdminOptions options);
  // Notes that `caller`'s token was used now: `GET /api/v1/tokens` shows it as last_used_at at
  // once; the store gets it at most once a minute per token (not a write per request), so other
  // services and `tokens list` see it within a minute.
  void saw(const Caller& caller);
  // The answer when `seg` names one of these routes (the caller is authenticated); nullopt
  // when it names none of them.
  boost::asio::awaitable<std::optional<HttpResponse>> route(const HttpRequest& req, const std::vector<std::string>& seg,
                                                            const Caller& caller);

 private:
  boost::asio::awaitable<HttpResponse> list_tokens();
  boost::asio::awaitable<HttpResponse> create_token(const HttpRequest& req, const Caller& caller);
  boost::asio::awaitable<HttpResponse> revoke_token(const HttpRequest& req, const Caller& caller, const std::string& name);
  boost::asio::awaitable<HttpResponse> reveal(const HttpRequest& req, const Caller& caller, const std::string& id);
  HttpResponse list_connections() const;
  boost::asio::awaitable<HttpResponse> test_connection(const HttpRequest& req, const Caller& caller,
                                                       const std::string& alias);
  boost::asio::awaitable<HttpResponse> deliveries(const HttpRequest& req);
  boost::asio::awaitable<HttpResponse> schedules(const HttpRequest& req);

  runtime::Runtime& runtime_;
  FlowCatalog& catalog_;
  AdminOptions options_;
  static constexpr std::int64_t kWriteUsedEveryMs = 60'000;
  std::map<std::string, std::int64_t> last_used_;     // token name -> Unix ms
  std::map<std::string, std::int64_t> last_written_;  // token name -> when last_used_at was written
};

}  // namespace spokeflow::serve
