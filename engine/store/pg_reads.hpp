#pragma once
// The PostgreSQL store's reads of executions and step runs (the API's lists and pages, a
// resume's journal). Called by the store on its connection, inside its open batch or alone.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "store/pg_conn.hpp"
#include "store/store.hpp"

namespace spokeflow::store::pg {

std::optional<ExecutionRecord> get_execution(Conn& c, const std::string& id);
std::vector<ExecutionRecord> list_executions(Conn& c, const ExecutionFilter& filter);
// In the order first recorded.
std::vector<StepRun> step_runs(Conn& c, const std::string& execution_id);
StepRunPage step_run_page(Conn& c, const std::string& execution_id, std::size_t offset, std::size_t limit);

}  // namespace spokeflow::store::pg
