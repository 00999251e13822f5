// Fuzzes the YAML config loader (engine/config/config_loader.h) and its size
// and duration parsers: any byte string must come back as a Config or a
// ConfigError, never as a crash, an escaped exception or a broken invariant.
// Seeds live in fuzz/corpus/config/.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <yaml-cpp/yaml.h>

#include "engine/config/config_loader.h"
#include "engine/config/yaml_util.h"

namespace {

using plexgate::config::Config;
using plexgate::config::LoadResult;
using plexgate::config::RespondAction;

// `body_size: 1g` is legal, and YAML aliases can repeat one route many times
// (`routes: [*r, *r, ...]`), so a 4 KiB input may legally ask for gigabytes.
// That is the operator's business, not a bug, so such inputs are skipped
// rather than tripping libFuzzer's RSS limit.
constexpr uint64_t kMaxFuzzBodyBytes = 64ull << 20;

// Sums body_size along exactly the paths the loader reads, following aliases
// the same way it does; saturates instead of overflowing.
uint64_t requestedBodyBytes(std::string_view input) {
  uint64_t total = 0;
  const auto add = [&total](const YAML::Node& size) {
    if (!size.IsScalar()) {
      return;
    }
    const auto bytes = plexgate::config::parseSize(size.Scalar());
    if (bytes) {
      total = (*bytes > UINT64_MAX - total) ? UINT64_MAX : total + *bytes;
    }
  };
  try {
    // Same guard as the loader: YAML::Load alone can spin forever.
    plexgate::config::detail::checkSingleDocument(input);
    const YAML::Node root = YAML::Load(std::string(input));
    if (!root.IsMap()) {
      return 0;
    }
    for (const auto& top : root) {
      if (!top.second.IsSequence()) {
        continue;
      }
      for (const YAML::Node& listener : top.second) {
        if (!listener.IsMap()) {
          continue;
        }
        for (const auto& field : listener) {
          if (!field.second.IsSequence()) {
            continue;
          }
          for (const YAML::Node& route : field.second) {
            if (!route.IsMap()) {
              continue;
            }
            for (const auto& action : route) {
              if (!action.second.IsMap()) {
                continue;
              }
              for (const auto& setting : action.second) {
                add(setting.second);
              }
            }
          }
        }
      }
    }
  } catch (...) {
    // Refused here means refused by the loader too: nothing gets allocated.
    return 0;
  }
  return total;
}

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

  if (requestedBodyBytes(input) > kMaxFuzzBodyBytes) {
    return -1;  // keep out of the corpus
  }
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
