// SystemIndex (engine/fanout/system_index.h): lookups by nickname, system
// name, group, sysplex and CPC agree with the file order the fan-out
// promises, and each system's fixed request-head parts are encoded once.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../config/config_test_util.h"
#include "engine/fanout/system_index.h"

namespace plexgate::fanout {
namespace {

std::vector<std::string> names(const SystemIndex& index, std::span<const uint32_t> members) {
  std::vector<std::string> out;
  for (const uint32_t i : members) {
    out.push_back(index.system(i).name);
  }
  return out;
}

using V = std::vector<std::string>;

TEST(SystemIndexTest, ResolvesEveryKindOfTargetInFileOrder) {
  const config::ConfigPtr c = config::testutil::load(std::string(config::testutil::kListener) +
                                                     "    fanout: true\n"
                                                     "systems:\n"
                                                     "  - {name: A, systemName: SYSA, sysplex: P1, cpc: C1, "
                                                     "groups: [G1, G2, G1], url: 'http://127.0.0.1:1'}\n"
                                                     "  - {name: B, systemName: SYSA, sysplex: P2, cpc: C1, "
                                                     "groups: [G2], url: 'http://127.0.0.1:2'}\n"
                                                     "  - {name: SYSA, sysplex: P1, url: 'http://127.0.0.1:3'}\n"
                                                     "  - {name: D, groups: [G2], url: 'http://127.0.0.1:4'}\n");
  ASSERT_NE(c, nullptr);
  const SystemIndex index(*c);
  ASSERT_EQ(index.size(), 4u);
  EXPECT_EQ(index.byName("B"), 1);
  EXPECT_EQ(index.byName("b"), -1);  // names are case-sensitive, as z/OSMF's nicknames
  EXPECT_EQ(index.byName("SYSB"), -1);
  // A nickname wins over a system name; a system name shared by two
  // systems names the first.
  EXPECT_EQ(index.byNameOrSystemName("SYSA"), 2);
  EXPECT_EQ(index.byNameOrSystemName("A"), 0);
  EXPECT_EQ(index.byNameOrSystemName("NONE"), -1);
  using parsers::FanoutKind;
  EXPECT_EQ(names(index, index.members(FanoutKind::Group, "G1")), (V{"A"}));  // listed twice on A, once here
  EXPECT_EQ(names(index, index.members(FanoutKind::Group, "G2")), (V{"A", "B", "D"}));
  EXPECT_EQ(names(index, index.members(FanoutKind::Sysplex, "P1")), (V{"A", "SYSA"}));
  EXPECT_EQ(names(index, index.members(FanoutKind::Cpc, "C1")), (V{"A", "B"}));
  EXPECT_TRUE(index.members(FanoutKind::Group, "P1").empty());  // a sysplex is not a group
  EXPECT_TRUE(index.members(FanoutKind::Sysplex, "NONE").empty());
  EXPECT_TRUE(index.members(FanoutKind::Systems, "A").empty());
}

TEST(SystemIndexTest, EncodesEachSystemsFixedHeadPartsOnce) {
  const config::ConfigPtr c = config::testutil::load(std::string(config::testutil::kListener) +
                                                     "systems:\n"
                                                     "  - {name: D, url: 'http://127.0.0.1:8080/z%20base'}\n"
                                                     "  - {name: V6, url: 'https://[::1]:8443/zosmf'}\n"
                                                     "  - {name: P, url: 'http://10.0.0.1/b', httpProxy: px}\n"
                                                     "  - {name: T, url: 'https://10.0.0.2', httpProxy: px}\n"
                                                     "httpProxies:\n"
                                                     "  - {name: px, host: 127.0.0.1, port: 3128}\n");
  ASSERT_NE(c, nullptr);
  const SystemIndex index(*c);
  const SystemIndex::Wire& d = index.wire(0);
  EXPECT_EQ(d.authority, "127.0.0.1:8080");
  EXPECT_EQ(d.target_prefix, "/z%20base");  // already encoded: kept as is
  EXPECT_FALSE(d.via_proxy);
  EXPECT_FALSE(d.tunnel);
  EXPECT_EQ(index.wire(1).authority, "[::1]:8443");
  EXPECT_EQ(index.wire(1).target_prefix, "/zosmf");
  // http behind a proxy: absolute-form; https behind one: origin-form in a tunnel.
  EXPECT_EQ(index.wire(2).target_prefix, "http://10.0.0.1:80/b");
  EXPECT_TRUE(index.wire(2).via_proxy);
  EXPECT_FALSE(index.wire(2).tunnel);
  EXPECT_EQ(index.wire(3).authority, "10.0.0.2:443");
  EXPECT_EQ(index.wire(3).target_prefix, "");
  EXPECT_TRUE(index.wire(3).tunnel);
}

TEST(SystemIndexTest, AppendTargetEscapesWhatARequestTargetMayNotCarry) {
  std::string out = "GET ";
  appendTarget(out, "/a b/#x?q=\"1\"&r=\xC3\xA9/%41");
  EXPECT_EQ(out, "GET /a%20b/%23x?q=%221%22&r=%C3%A9/%41");
}

}  // namespace
}  // namespace plexgate::fanout
