#include "store/store.hpp"

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

void ExecutionStore::post(std::function<void(ExecutionStore&)> task) { task(*this); }

}  // namespace spokeflow::store
