// Helpers shared by the config loader tests: a valid listener to build
// error cases on, and load/error wrappers that name the source "test.yaml"
// so expected messages read "test.yaml:LINE: key: message".
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "engine/config/config_loader.h"

namespace plexgate::config::testutil {

// A valid listener on lines 1-3.
inline constexpr std::string_view kListener =
    "listeners:\n"
    "  - name: gw\n"
    "    address: 127.0.0.1:7554\n";

// The error text for `yaml`, or "<loaded>" when it loads.
inline std::string errorOf(std::string_view yaml) {
  const LoadResult result = loadString(yaml, "test.yaml");
  if (!result.error) {
    return "<loaded>";
  }
  EXPECT_EQ(result.config, nullptr);
  return result.error->toString();
}

// The snapshot for `yaml`, failing the test when it does not load.
inline ConfigPtr load(std::string_view yaml) {
  const LoadResult result = loadString(yaml, "test.yaml");
  EXPECT_FALSE(result.error) << result.error->toString();
  return result.config;
}

}  // namespace plexgate::config::testutil
