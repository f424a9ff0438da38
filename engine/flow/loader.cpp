// Flow files: YAML -> located JSON -> flow-structure.schema.json -> checked, immutable Flow (the checks
// past the schema are the builder's: loader_builder.hpp).
//
// Every problem is collected (never only the first) with file:line:col, then sorted.
#include "flow/loader.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <system_error>

#include "common/duration.hpp"
#include "common/json_schema.hpp"
#include "common/utf8.hpp"
#include "flow/located.hpp"
#include "flow/schema_check.hpp"
#include "flow/loader_builder.hpp"

namespace spokeflow::flow {
namespace {

using building::Builder;
using namespace detail;

std::string format_size(std::size_t bytes) {
  std::ostringstream out;
  if (bytes >= (1u << 20)) out << (bytes >> 20) << " MiB";
  else if (bytes >= 1024) out << (bytes >> 10) << " KiB";
  else out << bytes << " bytes";
  return out.str();
}

std::string too_large_message(std::size_t bytes) {
  return "the flow file is too large (" + std::to_string(bytes) + " bytes; the limit is " +
         format_size(kMaxFlowFileBytes) + ")";
}

}  // namespace

LoadResult load_flow_text(std::string_view text, const std::string& display_name, const ActionRegistry& actions) {
  LoadResult result;
  result.diagnostics = Diagnostics(display_name);
  Diagnostics& diags = result.diagnostics;
  if (text.size() > kMaxFlowFileBytes) {
    diags.error({}, too_large_message(text.size()));
    return result;
  }
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a UTF-8 byte order mark
  SourceMap map(body);
  if (auto bad = find_invalid_utf8(body)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(body[*bad])));
    diags.error(map.at(*bad), std::string("the file is not valid UTF-8 (byte ") + hex + " here); save it as UTF-8");
    return result;
  }

  try {
    LocatedDoc doc;
    if (!parse_yaml(body, map, doc, diags)) {
      diags.sort_unique();
      return result;
    }
    if (!doc.root.is_object()) {
      diags.error(SourcePos{1, 1}, "a flow file is a mapping with name:, steps: and more, not " + describe_value(doc.root));
      diags.sort_unique();
      return result;
    }
    SchemaCheck check;
    check_schema(*JsonSchema::embedded("flow-structure.schema.json"), doc.root, check, doc, diags);

    Builder builder(doc, map, diags, actions);
    std::shared_ptr<Flow> flow = builder.build();
    flow->source_file = display_name;
    flow->source_text = std::string(text);
    flow->source_hash = sha256_hex(text);
    diags.sort_unique();
    if (diags.empty()) result.flow = std::move(flow);
  } catch (const std::exception& e) {
    // Loading is pure input checking: reaching this is a bug, reported rather than crashing.
    diags.error({}, std::string("internal error while loading the flow: ") + e.what());
    diags.sort_unique();
  }
  return result;
}

LoadResult load_flow_file(const std::string& path, const ActionRegistry& actions) {
  LoadResult result;
  result.diagnostics = Diagnostics(path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    result.diagnostics.error({}, "is a directory, not a flow file");
    return result;
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    result.diagnostics.error({}, "cannot read the flow file: " + ec.message());
    return result;
  }
  if (size > kMaxFlowFileBytes) {
    result.diagnostics.error({}, too_large_message(static_cast<std::size_t>(size)));
    return result;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    result.diagnostics.error({}, "cannot open the flow file");
    return result;
  }
  std::string text;
  text.resize(static_cast<std::size_t>(size));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  // The file may have grown since file_size(): read what is left, up to the limit.
  char extra[4096];
  while (in.read(extra, sizeof extra) || in.gcount() > 0) {
    text.append(extra, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFlowFileBytes) {
      result.diagnostics.error({}, too_large_message(text.size()));
      return result;
    }
  }
  return load_flow_text(text, path, actions);
}

}  // namespace spokeflow::flow
