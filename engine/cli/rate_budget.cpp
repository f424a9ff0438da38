#include "cli/rate_budget.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>

#include "http/shared_budget.hpp"
#include "store/pg_conn.hpp"
#include "store/pg_rate_budget.hpp"

namespace spokeflow::cli {
namespace {

// One org's view of the store's budget.
class OrgBudget final : public http::SharedBudget {
 public:
  OrgBudget(std::shared_ptr<store::PgRateBudget> budget, std::string org) : budget_(std::move(budget)), org_(std::move(org)) {}

  void take(const std::string& bucket, int want, std::int64_t now_ms, std::function<void(http::BudgetGrant)> done) override {
    budget_->take(org_, bucket, want, now_ms, [done = std::move(done)](std::optional<store::RateTake> t) {
      http::BudgetGrant g;
      if (!t) {
        g.kind = http::BudgetGrant::Kind::unavailable;
      } else if (!t->known) {
        g.kind = http::BudgetGrant::Kind::unknown;
      } else {
        g.permits = t->granted;
        g.valid_until_ms = t->valid_until_ms;
        g.retry_at_ms = t->retry_at_ms;
      }
      done(g);
    });
  }

  void learn(const std::string& bucket, long long limit, long long remaining, std::int64_t reset_ms) override {
    budget_->learn(org_, bucket, limit, remaining, reset_ms);
  }

 private:
  std::shared_ptr<store::PgRateBudget> budget_;
  std::string org_;
};

}  // namespace

void share_rate_budget(connect::Connections& connections, const std::string& store_location) {
  if (!store::pg::is_url(store_location)) return;
  if (const char* mode = std::getenv("SPOKEFLOW_RATE_BUDGET"); mode && *mode) {
    if (std::string(mode) == "local") {
      spdlog::info("rate budget: SPOKEFLOW_RATE_BUDGET=local: this process paces its Okta calls on its own");
      return;
    }
    if (std::string(mode) != "shared")
      spdlog::warn("rate budget: SPOKEFLOW_RATE_BUDGET='{}' is neither 'shared' nor 'local'; sharing (the default)", mode);
  }
  std::shared_ptr<store::PgRateBudget> budget;
  try {
    budget = std::make_shared<store::PgRateBudget>(store_location);
  } catch (const std::exception& e) {
    spdlog::warn("rate budget: {}; this process paces its Okta calls on its own", e.what());
    return;
  }
  connections.share_rate_budget(
      [budget](const std::string& org) -> std::shared_ptr<http::SharedBudget> { return std::make_shared<OrgBudget>(budget, org); });
}

}  // namespace spokeflow::cli
