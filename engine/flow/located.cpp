// YAML -> JSON with the source position of every node and key (see located.hpp).
#include "flow/located.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>

namespace spokeflow::flow::detail {

// ---------------------------------------------------------------------------------------------
// Pointers

std::string pointer_escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string child_pointer(const std::string& parent, std::string_view key) {
  return parent + "/" + pointer_escape(key);
}

std::string child_pointer(const std::string& parent, std::size_t index) {
  return parent + "/" + std::to_string(index);
}

std::vector<std::string> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> out;
  if (pointer.empty()) return out;
  std::size_t i = pointer.front() == '/' ? 1 : 0;
  std::string cur;
  for (; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    if (pointer[i] == '~' && i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
      cur += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
      continue;
    }
    cur += pointer[i];
  }
  return out;
}

const Json* json_at(const Json& root, std::string_view pointer) {
  const Json* cur = &root;
  for (const auto& token : pointer_tokens(pointer)) {
    if (cur->is_object()) {
      auto it = cur->find(token);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      std::size_t index = 0;
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec != std::errc() || p != token.data() + token.size() || index >= cur->size()) return nullptr;
      cur = &(*cur)[index];
    } else {
      return nullptr;
    }
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------
// Source positions

namespace {
constexpr std::size_t kCharBlock = 64;
bool is_lead_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }
}  // namespace

SourceMap::SourceMap(std::string_view text) : text_(text) {
  starts_.push_back(0);
  chars_.reserve(text.size() / kCharBlock + 1);
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i % kCharBlock == 0) chars_.push_back(chars);
    if (is_lead_byte(text[i])) ++chars;
    if (text[i] == '\n') starts_.push_back(i + 1);
  }
}

std::size_t SourceMap::chars_before(std::size_t offset) const {
  // Characters (UTF-8 lead bytes) in text[0, offset): a table per block, then a short scan.
  std::size_t block = offset / kCharBlock;
  if (block >= chars_.size()) block = chars_.empty() ? 0 : chars_.size() - 1;
  std::size_t count = chars_.empty() ? 0 : chars_[block];
  for (std::size_t i = block * kCharBlock; i < offset; ++i)
    if (is_lead_byte(text_[i])) ++count;
  return count;
}

std::size_t SourceMap::line_start(int line0) const {
  if (line0 < 0) return 0;
  if (static_cast<std::size_t>(line0) >= starts_.size()) return text_.size();
  return starts_[static_cast<std::size_t>(line0)];
}

SourcePos SourceMap::at(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  std::size_t line = static_cast<std::size_t>(it - starts_.begin()) - 1;
  const std::size_t start = starts_[line];
  // Columns count characters, not bytes.
  const std::size_t col = chars_before(offset) - chars_before(start) + 1;
  return SourcePos{static_cast<int>(line) + 1, static_cast<int>(col)};
}

SourcePos SourceMap::at_line_col(int line, int byte_col) const {
  if (line < 0) return {};
  std::size_t start = line_start(line);
  return at(start + static_cast<std::size_t>(std::max(byte_col, 0)));
}

SourcePos LocatedDoc::pos(const std::string& pointer) const {
  std::string p = pointer;
  while (true) {
    if (auto it = value_pos.find(p); it != value_pos.end()) return it->second;
    if (p.empty()) return SourcePos{1, 1};
    p.resize(p.rfind('/'));
  }
}

SourcePos LocatedDoc::key(const std::string& pointer) const {
  if (auto it = key_pos.find(pointer); it != key_pos.end()) return it->second;
  return pos(pointer);
}

// ---------------------------------------------------------------------------------------------
// YAML 1.2 core schema

namespace {

bool all_of(std::string_view s, std::size_t from, bool (*pred)(char)) {
  if (from >= s.size()) return false;
  for (std::size_t i = from; i < s.size(); ++i)
    if (!pred(s[i])) return false;
  return true;
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_core_float(std::string_view s) {
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && is_dec(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t frac = 0;
    while (i < s.size() && is_dec(s[i])) ++i, ++frac;
    if (digits == 0 && frac == 0) return false;
  } else if (digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp = 0;
    while (i < s.size() && is_dec(s[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

std::optional<Json> parse_double(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (p != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return std::nullopt;
  if (ec != std::errc()) return std::nullopt;
  return Json(d);
}

std::optional<Json> resolve_null(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Json(nullptr);
  return std::nullopt;
}
std::optional<Json> resolve_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return Json(true);
  if (s == "false" || s == "False" || s == "FALSE") return Json(false);
  return std::nullopt;
}
std::optional<Json> resolve_int(std::string_view s) {
  std::string_view body = s;
  bool neg = false;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
    neg = body.front() == '-';
    body.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && all_of(s, 2, is_oct)) {
    base = 8;
    body = s.substr(2);
    neg = false;
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && all_of(s, 2, is_hex)) {
    base = 16;
    body = s.substr(2);
    neg = false;
  } else if (!all_of(body, 0, is_dec)) {
    return std::nullopt;
  }
  std::uint64_t u = 0;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), u, base);
  if (ec == std::errc() && p == body.data() + body.size()) {
    if (!neg && u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return Json(static_cast<std::int64_t>(u));
    if (neg && u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
      if (u == static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1)
        return Json(std::numeric_limits<std::int64_t>::min());
      return Json(-static_cast<std::int64_t>(u));
    }
    if (!neg) return Json(u);
  }
  // Too large for 64 bits: keep it as a number all the same.
  if (base == 10) return parse_double(s);
  return std::nullopt;
}
std::optional<Json> resolve_float(std::string_view s) {
  if (is_core_float(s)) return parse_double(s);
  std::string_view body = s;
  double sign = 1;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
    sign = body.front() == '-' ? -1 : 1;
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") return Json(sign * std::numeric_limits<double>::infinity());
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return Json(std::numeric_limits<double>::quiet_NaN());
  return std::nullopt;
}

Json resolve_plain(const std::string& s) {
  if (auto v = resolve_null(s)) return *v;
  if (auto v = resolve_bool(s)) return *v;
  if (auto v = resolve_int(s)) return *v;
  if (auto v = resolve_float(s)) return *v;
  return Json(s);
}

const char* node_kind_name(const YAML::Node& n) {
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "a value";
}

std::string yaml_hint(const std::string& msg) {
  if (msg == "illegal map value")
    return " (a value holding ': ' needs quotes, and keys of one mapping must line up)";
  if (msg == "end of map not found" || msg == "end of sequence not found") return " (check the indentation)";
  if (msg == "end of map flow not found") return " (a '{' is not closed by '}')";
  if (msg == "end of sequence flow not found") return " (a '[' is not closed by ']')";
  return "";
}

// Whether the line (0-based) or the one before it is indented with a tab.
bool tab_indented(std::string_view text, const SourceMap& map, int line) {
  for (int l = std::max(line - 1, 0); l <= line; ++l) {
    for (std::size_t i = map.line_start(l); i < text.size(); ++i) {
      if (text[i] == '\t') return true;
      if (text[i] != ' ') break;
    }
  }
  return false;
}

// Counts documents without building them.
struct DocumentCounter : YAML::EventHandler {
  int documents = 0;
  YAML::Mark second_start;
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second_start = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

class Converter {
 public:
  Converter(std::string_view text, const SourceMap& map, LocatedDoc& doc, Diagnostics& diags)
      : text_(text), map_(map), doc_(doc), diags_(diags) {}

  // `depth`: how many mappings and lists hold `node`. The document nests at most as deeply as
  // JSON read from outside does (kMaxJsonDepth; a mapping holding a list is two levels).
  bool convert(const YAML::Node& node, const std::string& ptr, Json& out, std::size_t depth, const SourcePos* key_pos) {
    if ((node.IsMap() || node.IsSequence()) && depth >= kMaxJsonDepth) {
      diags_.error(mark_pos(node.Mark()), too_deep_message() + " (or an alias refers to itself)");
      return false;
    }
    pointer_bytes_ += ptr.size();
    if (++nodes_ > kMaxYamlNodes || pointer_bytes_ > kMaxPointerBytes) {
      diags_.error(mark_pos(node.Mark()), "the document holds more than " + std::to_string(kMaxYamlNodes) +
                                              " values (are aliases multiplying it?)");
      return false;
    }
    const YAML::Mark mark = node.Mark();
    SourcePos pos = mark_pos(mark);
    if (node.IsNull() && key_pos && (pos.line == 0 || pos.line > key_pos->line)) pos = *key_pos;
    doc_.value_pos[ptr] = pos;

    const std::string& tag = node.Tag();
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = nullptr;
        check_tag(tag, pos, "tag:yaml.org,2002:null");
        return true;
      case YAML::NodeType::Scalar:
        return scalar(node, ptr, out, pos, mark);
      case YAML::NodeType::Sequence: {
        check_tag(tag, pos, "tag:yaml.org,2002:seq");
        out = Json::array();
        std::size_t i = 0;
        for (auto it = node.begin(); it != node.end(); ++it, ++i) {
          Json item;
          if (!convert(*it, child_pointer(ptr, i), item, depth + 1, nullptr)) return false;
          out.push_back(std::move(item));
        }
        return true;
      }
      case YAML::NodeType::Map: {
        check_tag(tag, pos, "tag:yaml.org,2002:map");
        out = Json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          const YAML::Node k = it->first;  // a copy: the iterator hands out a temporary pair
          const YAML::Node val = it->second;
          SourcePos kpos = mark_pos(k.Mark());
          if (!k.IsScalar()) {
            diags_.error(kpos, std::string("a mapping key must be plain text, not ") +
                                   (k.IsNull() ? "empty" : node_kind_name(k)));
            continue;
          }
          const std::string& key = k.Scalar();
          std::string cptr = child_pointer(ptr, key);
          if (out.contains(key)) {
            SourcePos first = doc_.key(cptr);
            diags_.error(kpos, "duplicate key '" + key + "' (first at line " + std::to_string(first.line) + ")");
            continue;
          }
          doc_.key_pos[cptr] = kpos;
          Json value;
          if (!convert(val, cptr, value, depth + 1, &kpos)) return false;
          out[key] = std::move(value);
        }
        return true;
      }
    }
    return true;
  }

 private:
  SourcePos mark_pos(const YAML::Mark& m) const { return map_.at_line_col(m.line, m.column); }

  void check_tag(const std::string& tag, SourcePos pos, std::string_view expected) {
    if (tag.empty() || tag == "?" || tag == "!" || tag == expected) return;
    unsupported_tag(tag, pos);
  }
  void unsupported_tag(const std::string& tag, SourcePos pos) {
    diags_.error(pos, "unsupported YAML tag '" + tag + "' (flow files use plain YAML values)");
  }

  bool scalar(const YAML::Node& node, const std::string& ptr, Json& out, SourcePos pos, const YAML::Mark& mark) {
    const std::string& tag = node.Tag();
    const std::string& s = node.Scalar();
    std::size_t offset = map_.line_start(mark.line) + static_cast<std::size_t>(std::max(mark.column, 0));
    ScalarInfo info = sniff(offset);
    if (tag == "?") {
      out = resolve_plain(s);
    } else if (tag == "!" || tag == "tag:yaml.org,2002:str") {
      out = s;
    } else if (tag == "tag:yaml.org,2002:int") {
      auto v = resolve_int(s);
      if (!v) diags_.error(pos, "'" + s + "' is not an integer (tagged !!int)");
      out = v ? *v : Json(s);
    } else if (tag == "tag:yaml.org,2002:float") {
      auto v = resolve_float(s);
      if (!v) v = resolve_int(s);
      if (v && v->is_number_integer()) v = Json(v->get<double>());
      if (!v) diags_.error(pos, "'" + s + "' is not a number (tagged !!float)");
      out = v ? *v : Json(s);
    } else if (tag == "tag:yaml.org,2002:bool") {
      auto v = resolve_bool(s);
      if (!v) diags_.error(pos, "'" + s + "' is not true or false (tagged !!bool)");
      out = v ? *v : Json(s);
    } else if (tag == "tag:yaml.org,2002:null") {
      if (!resolve_null(s)) diags_.error(pos, "'" + s + "' is not null (tagged !!null)");
      out = nullptr;
    } else {
      unsupported_tag(tag, pos);
      out = s;
    }
    if (out.is_string()) doc_.scalars[ptr] = info;
    return true;
  }

  // How the scalar at `offset` is written: skip a tag and an anchor, then look at the indicator.
  ScalarInfo sniff(std::size_t offset) const {
    std::size_t i = std::min(offset, text_.size());
    for (int guard = 0; guard < 4 && i < text_.size() && (text_[i] == '!' || text_[i] == '&'); ++guard) {
      while (i < text_.size() && text_[i] != ' ' && text_[i] != '\t' && text_[i] != '\n') ++i;
      while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t')) ++i;
    }
    ScalarInfo info;
    if (i >= text_.size()) {
      info.offset = text_.size();
      return info;
    }
    switch (text_[i]) {
      case '"': info.style = ScalarInfo::Style::double_quoted; info.offset = i + 1; break;
      case '\'': info.style = ScalarInfo::Style::single_quoted; info.offset = i + 1; break;
      case '|':
      case '>': {
        info.style = text_[i] == '|' ? ScalarInfo::Style::literal : ScalarInfo::Style::folded;
        std::size_t nl = text_.find('\n', i);
        info.offset = nl == std::string_view::npos ? text_.size() : nl + 1;
        break;
      }
      default: info.offset = i;
    }
    return info;
  }

  std::string_view text_;
  const SourceMap& map_;
  LocatedDoc& doc_;
  Diagnostics& diags_;
  std::size_t nodes_ = 0;
  std::size_t pointer_bytes_ = 0;
};

}  // namespace

bool parse_yaml(std::string_view text, const SourceMap& map, LocatedDoc& doc, Diagnostics& diags) {
  // yaml-cpp needs hundreds of bytes per value: refuse a file of millions of tiny values before
  // parsing it. Separators bound the number of values from above, give or take a few.
  std::size_t separators = 0;
  for (char c : text) separators += (c == ',' || c == '\n') ? 1 : 0;
  if (separators > 2 * kMaxYamlNodes) {
    diags.error({}, "the flow file holds too many values (more than " + std::to_string(2 * kMaxYamlNodes) +
                        " lines and commas)");
    return false;
  }
  // YAML::LoadAll of yaml-cpp 0.7 loops forever, allocating, on a stray ',' at document level
  // (jbeder/yaml-cpp#1040, fixed upstream by #1319): load the first document only, then count
  // documents with a bounded number of parser calls.
  const std::string input(text);
  YAML::Node root;
  // A quote never closed: said where it opens, whatever yaml-cpp made of the rest.
  auto unclosed = [&]() {
    auto at = unclosed_quote(text);
    if (!at) return false;
    diags.error(map.at(*at), std::string("invalid YAML: this ") + (text[*at] == '"' ? "double" : "single") +
                                 "-quoted string is never closed (no " + text[*at] + " after it)");
    return true;
  };
  auto yaml_error = [&](const YAML::Exception& e) {
    if (unclosed()) return;
    SourcePos pos = e.mark.is_null() ? SourcePos{} : map.at_line_col(e.mark.line, e.mark.column);
    std::string hint = yaml_hint(e.msg);
    if (!e.mark.is_null() && tab_indented(text, map, e.mark.line)) hint = " (YAML does not allow tabs for indentation)";
    diags.error(pos, "invalid YAML: " + e.msg + hint);
  };
  try {
    root = YAML::Load(input);
  } catch (const YAML::DeepRecursion& e) {
    diags.error(map.at_line_col(e.mark.line, e.mark.column), "the document is nested too deeply");
    return false;
  } catch (const YAML::Exception& e) {
    yaml_error(e);
    return false;
  } catch (const std::exception& e) {
    diags.error({}, std::string("invalid YAML: ") + e.what());
    return false;
  }
  if (unclosed()) return false;  // yaml-cpp took the rest of the file as the string
  if (root.IsNull() && root.Mark().is_null()) {
    diags.error(SourcePos{1, 1}, "the flow file is empty (it needs at least name: and steps:)");
    return false;
  }
  if (root.IsNull()) {
    // The first thing written: yaml-cpp reads a stray ',', ']' or '}' as an empty document.
    std::size_t i = 0;
    while (i < text.size()) {
      if (text[i] == '#') {
        while (i < text.size() && text[i] != '\n') ++i;
      } else if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') {
        ++i;
      } else {
        break;
      }
    }
    if (i < text.size() && (text[i] == ',' || text[i] == ']' || text[i] == '}')) {
      diags.error(map.at(i), std::string("invalid YAML: unexpected '") + text[i] + "'");
      return false;
    }
  }
  try {
    std::istringstream in(input);
    YAML::Parser parser(in);
    DocumentCounter counter;
    for (int n = 0; n < 2 && parser.HandleNextDocument(counter); ++n) {
    }
    if (counter.documents > 1) {
      const YAML::Mark m = counter.second_start;
      diags.error(map.at_line_col(m.line, m.column),
                  "a flow file holds one YAML document; remove the '---' separator and what follows");
    }
  } catch (const YAML::Exception& e) {
    yaml_error(e);  // in a later document
  } catch (const std::exception& e) {
    diags.error({}, std::string("invalid YAML: ") + e.what());
  }
  Converter converter(text, map, doc, diags);
  try {
    return converter.convert(root, "", doc.root, 0, nullptr);
  } catch (const std::exception& e) {
    diags.error({}, std::string("cannot read the YAML document: ") + e.what());
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Positions inside string values

SourcePos value_offset_pos(const LocatedDoc& doc, const SourceMap& map, const std::string& pointer,
                           std::string_view value, std::size_t offset) {
  auto it = doc.scalars.find(pointer);
  if (it == doc.scalars.end()) return doc.pos(pointer);
  const ScalarInfo& info = it->second;
  std::string_view text = map.text();
  offset = std::min(offset, value.size());

  // Expressions are written as they are read: anchor on the `${{` that starts the part.
  std::size_t k = 0, anchor = std::string_view::npos;
  for (std::size_t p = value.find("${{"); p != std::string_view::npos && p <= offset; p = value.find("${{", p + 3)) {
    ++k;
    anchor = p;
  }
  if (k > 0) {
    std::size_t found = std::string_view::npos, from = info.offset;
    for (std::size_t i = 0; i < k; ++i) {
      found = text.find("${{", from);
      if (found == std::string_view::npos) break;
      from = found + 3;
    }
    if (found != std::string_view::npos) return map.at(std::min(found + (offset - anchor), text.size()));
  }

  if (info.style == ScalarInfo::Style::literal || info.style == ScalarInfo::Style::folded) {
    // Lines of the value follow the lines of the block, each after the block's indentation.
    std::size_t line_start = info.offset;
    std::size_t indent = 0;
    while (line_start + indent < text.size() && text[line_start + indent] == ' ') ++indent;
    std::size_t vpos = 0;
    while (true) {
      std::size_t nl = value.find('\n', vpos);
      if (nl == std::string_view::npos || nl >= offset) break;
      vpos = nl + 1;
      std::size_t next = text.find('\n', line_start);
      if (next == std::string_view::npos) break;
      line_start = next + 1;
    }
    return map.at(std::min(line_start + indent + (offset - vpos), text.size()));
  }
  return map.at(std::min(info.offset + offset, text.size()));
}

// ---------------------------------------------------------------------------------------------
// Messages

std::string bad_duration_message(std::string_view text) {
  return "bad duration '" + std::string(text) + "' (use 250ms, 10s, 5m, 2h, 1d or sums like 1h30m)";
}

std::string short_value(const Json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return "'" + s + "'";
  }
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string describe_value(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return std::string("a boolean (") + (v.get<bool>() ? "true" : "false") + ")";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer (" + v.dump() + ")";
    case Json::value_t::number_float: return "a number (" + short_value(v) + ")";
    case Json::value_t::string: return "a string (" + short_value(v) + ")";
    case Json::value_t::array: return "a list";
    case Json::value_t::object: return "a mapping";
    default: return "a value";
  }
}

std::string describe_type(std::string_view type) {
  if (type == "string") return "a string";
  if (type == "integer") return "an integer";
  if (type == "number") return "a number";
  if (type == "boolean") return "true or false";
  if (type == "object") return "a mapping";
  if (type == "array") return "a list";
  if (type == "null") return "null";
  return std::string(type);
}

}  // namespace spokeflow::flow::detail
