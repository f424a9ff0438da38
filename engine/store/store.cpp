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

std::string like_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Error strikes_error(std::int64_t strikes) {
  Error e = Error::make(ErrorKind::internal, "the execution stopped the process running it " + std::to_string(strikes) +
                                                 " times in a row without finishing a step; it was failed so that the "
                                                 "queue runs on (see the process's log for the crash)");
  e.details = {{"strikes", strikes}};
  return e;
}

Error abandoned_child_error(const std::string& root, const Error& why) {
  Error child = why;
  child.message = "its top-level execution " + root + " was failed: " + why.message;
  return child;
}

void ExecutionStore::on_runnable(std::function<void()>) {}

void ExecutionStore::post(std::function<void(ExecutionStore&)> task) { task(*this); }

StepRunPage ExecutionStore::step_run_page(const std::string& execution_id, std::size_t offset, std::size_t limit) {
  auto all = step_runs(execution_id);
  StepRunPage page;
  page.total = all.size();
  for (std::size_t i = offset; i < all.size() && i - offset < limit; ++i) page.runs.push_back(std::move(all[i]));
  return page;
}

}  // namespace spokeflow::store
