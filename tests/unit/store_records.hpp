#pragma once
// What the store tests make their records from: an execution of a flow (a child when given a
// parent) and a temporary folder named for them.
#include <string>

#include "common/ids.hpp"
#include "store/store.hpp"
#include "test_util.hpp"

namespace spokeflow::test {

struct StoreTempDir : TempDir {
  StoreTempDir() : TempDir("spokeflow-store-") {}
};

inline store::ExecutionRecord make_exec(const std::string& flow, const std::string& parent = {}) {
  store::ExecutionRecord r;
  r.id = new_sortable_id();
  r.flow_name = flow;
  r.flow_file = "flows/" + flow + ".yaml";
  r.flow_source = "name: " + flow + "\n";
  r.flow_hash = "hash-" + flow;
  r.inputs = {{"user", "ada"}};
  r.trigger = {{"type", "cli"}};
  r.created_at = now_unix_ms();
  r.parent_id = parent;
  if (!parent.empty()) r.parent_step = "sub";
  return r;
}

}  // namespace spokeflow::test
