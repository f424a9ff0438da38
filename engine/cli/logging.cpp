#include "cli/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <mutex>

#include "common/ids.hpp"
#include "common/json.hpp"
#include "common/log_fields.hpp"
#include "common/scrub.hpp"

namespace spokeflow::cli {
namespace {

// One JSON object per line: {"time", "level", "message"} and the line's fields (log_with) as
// keys of their own; the message is escaped properly.
class JsonLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const SecretScrubber& scrubber = SecretScrubber::instance();
    nlohmann::ordered_json line = {{"time", format_timestamp(ms)},
                 {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                       spdlog::level::to_string_view(msg.level).size())},
                 {"message", scrubber.scrub(std::string(msg.payload.data(), msg.payload.size()))}};
    std::string text = line.dump(-1, ' ', false, Json::error_handler_t::replace);
    // The fields after the three (a Json object would sort "time" last).
    if (const Json* fields = current_log_fields(); fields && fields->is_object() && !fields->empty()) {
      text.pop_back();  // the closing brace
      for (const auto& [k, v] : fields->items()) {
        if (line.contains(k)) continue;
        text += ',' + Json(k).dump(-1, ' ', false, Json::error_handler_t::replace) + ':' +
                scrubber.scrub(Json(v)).dump(-1, ' ', false, Json::error_handler_t::replace);
      }
      text += '}';
    }
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

// A field's value as text: strings as they are, anything else as JSON.
std::string field_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Text lines through spdlog's pattern, scrubbed of registered secrets. A line's fields read
// "[execution_id step] message key=value ...".
class TextSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    const Json* fields = current_log_fields();
    if (fields && fields->is_object() && !fields->empty()) {
      std::string text;
      auto id = fields->find("execution_id");
      auto step = fields->find("step");
      if (id != fields->end()) {
        text += "[" + field_text(*id);
        if (step != fields->end()) text += " " + field_text(*step);
        text += "] ";
      }
      text.append(msg.payload.data(), msg.payload.size());
      for (auto it = fields->begin(); it != fields->end(); ++it)
        if (it != id && (it != step || id == fields->end())) text += " " + it.key() + "=" + field_text(*it);
      spdlog::details::log_msg with(msg.time, msg.source, msg.logger_name, msg.level, text);
      formatter_->format(with, buf);
    } else {
      formatter_->format(msg, buf);
    }
    std::string text = SecretScrubber::instance().scrub(std::string(buf.data(), buf.size()));
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

bool setup_logging(const std::string& format, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return false;
  std::shared_ptr<spdlog::logger> logger;
  if (format == "json") {
    logger = std::make_shared<spdlog::logger>("spokeflow", std::make_shared<JsonLineSink>());
  } else if (format == "text") {
    logger = std::make_shared<spdlog::logger>("spokeflow", std::make_shared<TextSink>());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  } else {
    return false;
  }
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace spokeflow::cli
