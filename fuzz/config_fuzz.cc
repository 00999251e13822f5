// Fuzzes the YAML config loader (engine/config/config_loader.h) and its size
// and duration parsers: any byte string must come back as a Config or a
// ConfigError, never as a crash, an escaped exception or a broken invariant.
// Seeds live in fuzz/corpus/config/.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "engine/config/config_loader.h"

namespace {

using plexgate::config::Config;
using plexgate::config::LoadResult;
using plexgate::config::RespondAction;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// What a successful load promises its users.
void checkConfig(const Config& config) {
  check(!config.listeners.empty());
  check(config.workers <= 1024);
  for (const auto& listener : config.listeners) {
    check(!listener.name.empty());
    check(!listener.host.empty());
    for (const auto& route : listener.routes) {
      check(!route.prefix.empty() && route.prefix.front() == '/');
      if (const auto* respond = std::get_if<RespondAction>(&route.action)) {
        check(respond->status >= 200 && respond->status <= 599);
        check(respond->delay.count() >= 0);
        check(respond->body.empty() || respond->body_size == 0);  // one or the other
        check(respond->body_size <= (1ull << 30));
        for (const auto& [name, value] : respond->headers) {
          check(!name.empty());
          check(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
        }
      }
    }
  }
  check(config.limits.max_uri_bytes <= config.limits.max_head_bytes);
  check(config.limits.max_headers >= 1);
  check(config.timeouts.header.count() > 0 && config.timeouts.idle.count() > 0 &&
        config.timeouts.drain.count() > 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The flag parsers see raw bytes too (they also parse command-line flags).
  (void)plexgate::config::parseSize(input);
  (void)plexgate::config::parseDuration(input);

  const LoadResult result = plexgate::config::loadString(input, "fuzz.yaml");
  check((result.config == nullptr) != (result.error == std::nullopt));
  if (result.error) {
    check(result.error->line >= 0);
    check(!result.error->message.empty());
    check(!result.error->toString().empty());
  } else {
    check(result.config->source == "fuzz.yaml");
    checkConfig(*result.config);
  }
  return 0;
}
