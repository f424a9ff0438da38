#pragma once
// Retention (ExecutionStore::purge_executions), one algorithm for both stores: which executions
// a batch deletes, how far it reads, and in which order their records go. Each store supplies
// the statements (PurgeSql) and runs the batch inside its own short write transaction.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace spokeflow::store {

class PurgeSql {
 public:
  virtual ~PurgeSql() = default;
  // Executions in id order after `after` (of f.flow only when it is set), at most `limit`:
  // `row(id, chosen)` for each, `chosen` when `f` picks it as a root (a finished top-level
  // execution matching the filter); `row` returns false to stop early.
  virtual void scan(const PurgeFilter& f, const std::string& after, int limit,
                    const std::function<bool(const std::string& id, bool chosen)>& row) = 0;
  // The first flow name above `after`; nullopt past the last.
  virtual std::optional<std::string> flow_after(const std::string& after) = 0;
  // The id of the keep_last-th newest finished top-level execution of `flow` (of `status` when
  // set); nullopt when it has fewer.
  virtual std::optional<std::string> keep_from(const std::string& flow, const std::string& status, int keep_last) = 0;
  // Up to `limit` roots of `flow` that `f` chooses with an id below `below`, oldest first.
  virtual std::vector<std::string> older(const PurgeFilter& f, const std::string& flow, const std::string& below,
                                         int limit) = 0;
  // The roots that are still finished, held until the transaction ends so that no one reopens
  // them meanwhile (a store whose write transaction excludes every other writer has nothing to do).
  virtual std::vector<std::string> lock_roots(std::vector<std::string> roots) { return roots; }
  // The subflow executions `id` started.
  virtual std::vector<std::string> children(const std::string& id) = 0;
  // Deletes the execution with its step runs; schedule fires naming it go, except each
  // trigger's latest, which then names none. Its flow hash; nullopt when it was not there.
  virtual std::optional<std::string> delete_execution(const std::string& id) = 0;
  virtual void delete_source_if_unused(const std::string& hash) = 0;
  // Up to `limit` deliveries received before `before` whose executions are all gone (or that
  // started none); how many went.
  virtual std::int64_t delete_deliveries(std::int64_t before, int limit) = 0;
};

// One batch (see ExecutionStore::purge_executions), in the caller's open transaction.
PurgeResult purge_batch(PurgeSql& sql, const PurgeFilter& filter, int batch);

}  // namespace spokeflow::store
