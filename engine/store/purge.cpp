// Retention's algorithm, shared by both stores (purge.hpp).
#include "store/purge.hpp"

#include <algorithm>
#include <set>

namespace spokeflow::store {
namespace {

// At most this many rows are read in id order per batch (a pass with a cursor): a store where
// little matches is walked in many short transactions, never in one long one.
int rows_to_examine(int batch) { return std::max(batch * 10, 1000); }

// The roots of this batch: finished top-level executions matching `f`, oldest id first.
// `next`: where the next batch starts ("" = from the start again).
std::vector<std::string> choose_roots(PurgeSql& db, const PurgeFilter& f, int batch, std::string& next, bool& more) {
  std::vector<std::string> out;
  const auto full = [&] { return static_cast<int>(out.size()) >= batch; };
  if (f.keep_last <= 0) {
    // From the cursor on, a bounded slice.
    const int limit = rows_to_examine(batch);
    int examined = 0;
    std::string last;
    db.scan(f, f.after, limit, [&](const std::string& id, bool chosen) {
      ++examined;
      last = id;
      if (chosen) out.push_back(id);
      return !full();
    });
    more = full() || examined >= limit;
    next = more ? last : std::string();
    return out;
  }
  // Per flow: what is older than its keep_last-th newest matching execution. The flows are
  // walked one index seek at a time (a DISTINCT would read the whole index).
  std::vector<std::string> flows;
  if (!f.flow.empty()) {
    flows.push_back(f.flow);
  } else {
    std::string after;
    while (auto name = db.flow_after(after)) {
      after = *name;
      if (std::find(f.except_flows.begin(), f.except_flows.end(), after) == f.except_flows.end()) flows.push_back(after);
    }
  }
  for (const auto& flow : flows) {
    if (full()) break;
    const auto keep_from = db.keep_from(flow, f.status, f.keep_last);
    if (!keep_from) continue;  // no more than keep_last of them
    for (auto& id : db.older(f, flow, *keep_from, batch - static_cast<int>(out.size()))) out.push_back(std::move(id));
  }
  more = full();
  return out;
}

}  // namespace

PurgeResult purge_batch(PurgeSql& db, const PurgeFilter& f, int batch) {
  PurgeResult out;
  batch = std::max(batch, 1);
  const auto roots = db.lock_roots(choose_roots(db, f, batch, out.next, out.more));
  out.top_level = static_cast<std::int64_t>(roots.size());
  if (!roots.empty()) {
    // The roots and every execution below them.
    std::vector<std::string> ids = roots;
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (auto& child : db.children(ids[i])) ids.push_back(std::move(child));
    std::set<std::string> hashes;
    for (const auto& id : ids) {
      if (auto hash = db.delete_execution(id)) {
        hashes.insert(std::move(*hash));
        ++out.executions;
      }
    }
    for (const auto& h : hashes) db.delete_source_if_unused(h);
  }
  // Deliveries once the executions are done: most name executions of this purge.
  if (!out.more && f.finished_before > 0 && db.delete_deliveries(f.finished_before, batch) >= batch) out.more = true;
  return out;
}

}  // namespace spokeflow::store
