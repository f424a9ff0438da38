#pragma once
// `spokeflow executions ...`: list, show, cancel, retry, rerun, purge.
#include <string>

#include "cli/execution_view.hpp"
#include "cli/shell.hpp"

namespace spokeflow::cli {

int cmd_list(const GlobalOptions& g, const store::ExecutionFilter& f, bool json);
int cmd_show(const GlobalOptions& g, const std::string& id, bool json, bool reveal, const StepSelection& sel);
// Cancels an execution: at once when it had not started; else its `finally` steps run (here
// when no worker holds it, by its worker otherwise) and it is recorded cancelled.
int cmd_cancel(const GlobalOptions& g, const QueueOptions& q, const std::string& id, bool json, const ExtraActions& extra);
// A failed or cancelled execution continues: finished steps kept, failed steps run again as
// their next attempt, on the flow source it ran with.
int cmd_retry(const GlobalOptions& g, const QueueOptions& q, const std::string& id, bool json, bool quiet,
              const ExtraActions& extra);
// A new execution with the same inputs (sensitive ones from their sealed copies), on the flow
// as it is now or, with `same_version`, as the execution ran it.
int cmd_rerun(const GlobalOptions& g, const QueueOptions& q, const std::string& id, bool same_version, bool json,
              bool quiet, const ExtraActions& extra);

struct PurgeOptions {
  std::string older_than;  // a duration; "" = any age
  std::string flow;
  std::string status;      // succeeded, failed or cancelled; "" = any of them
  int keep_last = 0;       // per flow, the newest N matching are kept
  int batch = 100;         // top-level executions per transaction
  bool json = false;
};
// Deletes finished executions (never queued, running or waiting ones) with everything that is
// theirs, in small batches; prints how many.
int cmd_purge(const GlobalOptions& g, const PurgeOptions& o);
// `spokeflow store migrate`: brings the store to this spokeflow's schema, saying from which.
int cmd_store_migrate(const GlobalOptions& g, bool json);

}  // namespace spokeflow::cli
