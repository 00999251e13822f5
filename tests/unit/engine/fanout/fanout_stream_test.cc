// Unit checks for the fan-out's pure helpers (engine/fanout/fanout_stream.h);
// the exchanges themselves run against real sockets in
// tests/integration/fanout_test.cc.
#include <gtest/gtest.h>

#include <set>

#include "engine/fanout/fanout_stream.h"

namespace plexgate::fanout {
namespace {

TEST(FanoutTimeoutTest, RoundsUpToABoundedSetOfDurations) {
  EXPECT_EQ(quantizeTimeoutMs(0), 50u);
  EXPECT_EQ(quantizeTimeoutMs(1), 50u);
  EXPECT_EQ(quantizeTimeoutMs(50), 50u);
  EXPECT_EQ(quantizeTimeoutMs(51), 100u);
  EXPECT_EQ(quantizeTimeoutMs(1000), 1000u);
  EXPECT_EQ(quantizeTimeoutMs(1001), 1500u);
  EXPECT_EQ(quantizeTimeoutMs(10'000), 10'000u);
  EXPECT_EQ(quantizeTimeoutMs(10'001), 20'000u);
  EXPECT_EQ(quantizeTimeoutMs(600'000), 600'000u);
  std::set<uint64_t> distinct;
  for (uint64_t ms = 1; ms <= 600'000; ++ms) {
    const uint64_t q = quantizeTimeoutMs(ms);
    ASSERT_GE(q, ms);  // never earlier than asked
    distinct.insert(q);
  }
  // One timeout list per distinct duration per loop: bounded whatever clients send.
  EXPECT_LE(distinct.size(), 100u);
}

TEST(CredentialStoreTest, KeepsSecondaryAndProxyCredentialsPerCallerAndSystem) {
  InMemoryCredentialStore store;
  store.put(CredentialKind::Secondary, "anonymous", "SY1", Credentials{"u", "p"});
  store.put(CredentialKind::Proxy, "anonymous", "SY1", Credentials{"pu", "pp"});
  auto s = store.find(CredentialKind::Secondary, "anonymous", "SY1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "u");
  EXPECT_EQ(s->password, "p");
  auto p = store.find(CredentialKind::Proxy, "anonymous", "SY1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user, "pu");
  EXPECT_FALSE(store.find(CredentialKind::Secondary, "Basic other", "SY1"));
  EXPECT_FALSE(store.find(CredentialKind::Secondary, "anonymous", "SY2"));
  store.put(CredentialKind::Secondary, "anonymous", "SY1", Credentials{"u2", "p2"});
  EXPECT_EQ(store.find(CredentialKind::Secondary, "anonymous", "SY1")->user, "u2");
}

}  // namespace
}  // namespace plexgate::fanout
