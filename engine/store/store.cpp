#include "store/store.hpp"

#include "store/pg_conn.hpp"

namespace spokeflow::store {

void ExecutionStore::flush_async(std::function<void(CommitResult)> done) {
  CommitResult result;
  try {
    result.fenced = flush();
  } catch (...) {
    result.failure = std::current_exception();
  }
  done(std::move(result));
}

std::unique_ptr<ExecutionStore> open_store(const std::string& location, bool migrate) {
  return pg::is_url(location) ? open_pg_store(location, migrate) : open_sqlite_store(location, migrate);
}

SchemaChange migrate_store(const std::string& location) {
  return pg::is_url(location) ? migrate_pg_store(location) : migrate_sqlite_store(location);
}

void ExecutionStore::on_runnable(std::function<void()>) {}

void ExecutionStore::post(std::function<void(ExecutionStore&)> task) { task(*this); }

}  // namespace spokeflow::store
