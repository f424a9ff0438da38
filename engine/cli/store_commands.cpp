#include "cli/store_commands.hpp"

#include <cstdio>
#include <iostream>

#include "common/ids.hpp"
#include "store/pg_conn.hpp"
#include "store/store_copy.hpp"

namespace spokeflow::cli {

int cmd_store_copy(const CopyFlags& f) {
  if (store::pg::is_url(f.from)) {
    std::cerr << "error: --from names the SQLite file to copy, not a PostgreSQL URL\n";
    return kExitInvalid;
  }
  if (!store::pg::is_url(f.to)) {
    std::cerr << "error: --to must be a postgresql:// (or postgres://) URL: the copy goes from SQLite to PostgreSQL\n";
    return kExitInvalid;
  }
  const std::string shown = store::pg::redact_url(f.to);
  store::CopyOptions o;
  o.merge = f.merge;
  o.force = f.force;
  o.now_ms = now_unix_ms();
  store::CopyReport report;
  try {
    report = store::copy_sqlite_to_pg(f.from, f.to, o);
  } catch (const store::CopyRefused& e) {
    std::cerr << "error: copy refused: " << e.what() << "\n";
    return kExitInvalid;
  } catch (const std::exception& e) {
    std::cerr << "error: copy to " << shown << " failed, nothing was written there: " << e.what() << "\n";
    return kExitEnvironment;
  }
  if (f.json) {
    Json tables = Json::object();
    for (const auto& [name, rows] : report.rows) tables[name] = rows;
    std::cout << Json{{"from", f.from}, {"to", shown}, {"schema", report.schema}, {"tables", tables},
                      {"leases_released", report.leases_released}}.dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "copied " << f.from << " to " << shown << " (schema " << report.schema << "):\n";
  for (const auto& [name, rows] : report.rows) std::printf("  %-16s %lld\n", name.c_str(), static_cast<long long>(rows));
  if (report.leases_released)
    std::cout << report.leases_released
              << " running execution(s) were copied without their lease: the first worker on PostgreSQL resumes them\n";
  return kExitOk;
}

}  // namespace spokeflow::cli
