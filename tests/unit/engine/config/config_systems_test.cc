// Tests for `systems:` (engine/config/config_systems.cc) and a listener's
// `fanout:`: every converted field of a good load, the internal cluster each
// system becomes, and the rules, with the message an operator reads.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config_test_util.h"
#include "engine/config/config_loader.h"

namespace plexgate::config {
namespace {

using namespace std::chrono_literals;

// The shared listener (lines 1-3) with the fan-out on (line 4).
const std::string kListener = std::string(testutil::kListener) + "    fanout: true\n";

using testutil::errorOf;

TEST(ConfigSystemsTest, LoadsEveryFieldAndBuildsOneClusterPerSystem) {
  const LoadResult r = loadString(std::string(kListener) +
                                      "clusters:\n"
                                      "  - name: c\n"
                                      "    endpoints: ['http://127.0.0.1:9000']\n"
                                      "systems:\n"
                                      "  - name: SY1\n"
                                      "    systemName: SYS1\n"
                                      "    sysplex: PLEXA\n"
                                      "    cpc: CPC1\n"
                                      "    groups: [G1, G2]\n"
                                      "    url: http://127.0.0.1:9001/zosmf-base\n"
                                      "    timeout: 2s\n"
                                      "    zosNode: N1\n"
                                      "    zosVrm: 04.27.00\n"
                                      "    secondaryApiVersion: 1\n"
                                      "  - name: SY2\n"
                                      "    url: https://127.0.0.1:9002\n"
                                      "    tls: {verify: false}\n",
                                  "test.yaml");
  ASSERT_TRUE(r.ok()) << r.error->toString();
  const Config& c = *r.config;
  EXPECT_TRUE(c.listeners[0].fanout);
  ASSERT_EQ(c.systems.size(), 2u);
  const System& s1 = c.systems[0];
  EXPECT_EQ(s1.name, "SY1");
  EXPECT_EQ(s1.system_name, "SYS1");
  EXPECT_EQ(s1.sysplex, "PLEXA");
  EXPECT_EQ(s1.cpc, "CPC1");
  EXPECT_EQ(s1.groups, (std::vector<std::string>{"G1", "G2"}));
  EXPECT_EQ(s1.url, "http://127.0.0.1:9001/zosmf-base");
  EXPECT_EQ(s1.timeout, 2s);
  EXPECT_EQ(s1.cluster, "system/SY1");
  EXPECT_EQ(s1.zos_node, "N1");
  EXPECT_EQ(s1.zos_vrm, "04.27.00");
  EXPECT_EQ(s1.secondary_api_version, "1");
  const System& s2 = c.systems[1];
  EXPECT_EQ(s2.system_name, "SY2");  // defaults to the nickname
  EXPECT_EQ(s2.timeout, 30s);
  EXPECT_EQ(s2.zos_node, "");  // unknown unless set: never guessed from systemName
  EXPECT_EQ(s2.zos_vrm, "");
  EXPECT_EQ(s2.secondary_api_version, "");
  // Declared clusters first, then one per system, in order.
  ASSERT_EQ(c.clusters.size(), 3u);
  EXPECT_EQ(s1.cluster_index, 1u);
  EXPECT_EQ(s2.cluster_index, 2u);
  const Cluster& k1 = c.clusters[1];
  EXPECT_EQ(k1.name, "system/SY1");
  ASSERT_EQ(k1.endpoints.size(), 1u);
  EXPECT_EQ(k1.endpoints[0].port, 9001);
  EXPECT_EQ(k1.endpoints[0].base_path, "/zosmf-base");
  EXPECT_EQ(k1.retries, 0u);
  EXPECT_EQ(k1.connect_timeout, 2s);
  EXPECT_EQ(k1.tls_context, nullptr);
  EXPECT_NE(c.clusters[2].tls_context, nullptr);
  EXPECT_FALSE(c.clusters[2].tls.verify);
}

TEST(ConfigSystemsTest, ASystemBehindAnHttpProxyConnectsToTheProxy) {
  const LoadResult r = loadString(std::string(kListener) +
                                      "systems:\n"
                                      "  - name: SY1\n"
                                      "    url: http://10.1.2.3:8080/z\n"
                                      "    httpProxy: px\n"
                                      "httpProxies:\n"
                                      "  - name: px\n"
                                      "    host: 127.0.0.1\n"
                                      "    port: 3128\n",
                                  "test.yaml");
  ASSERT_TRUE(r.ok()) << r.error->toString();
  const Config& c = *r.config;
  ASSERT_EQ(c.http_proxies.size(), 1u);
  EXPECT_EQ(c.http_proxies[0].port, 3128);
  const System& s = c.systems[0];
  EXPECT_EQ(s.http_proxy, "px");
  EXPECT_EQ(s.target.host, "10.1.2.3");
  EXPECT_EQ(s.target.port, 8080);
  EXPECT_EQ(s.target.base_path, "/z");
  const Cluster& k = c.clusters[s.cluster_index];
  ASSERT_EQ(k.endpoints.size(), 1u);
  EXPECT_EQ(k.endpoints[0].host, "127.0.0.1");
  EXPECT_EQ(k.endpoints[0].port, 3128);
}

TEST(ConfigSystemsTest, AnHttpsSystemBehindAnHttpProxyKeepsItsOwnTls) {
  const LoadResult r = loadString(std::string(kListener) +
                                      "systems:\n"
                                      "  - name: SY1\n"
                                      "    url: https://10.1.2.3:8443\n"
                                      "    httpProxy: px\n"
                                      "    tls: {sni: zos.example.com}\n"
                                      "httpProxies:\n"
                                      "  - {name: px, host: 127.0.0.1, port: 3128}\n",
                                  "test.yaml");
  ASSERT_TRUE(r.ok()) << r.error->toString();
  const Config& c = *r.config;
  const System& s = c.systems[0];
  EXPECT_EQ(s.target.scheme, "https");
  EXPECT_EQ(s.target.host, "10.1.2.3");
  // The connection goes to the plain proxy; TLS inside the CONNECT tunnel
  // uses the system's settings.
  const Cluster& k = c.clusters[s.cluster_index];
  ASSERT_EQ(k.endpoints.size(), 1u);
  EXPECT_EQ(k.endpoints[0].scheme, "http");
  EXPECT_EQ(k.endpoints[0].port, 3128);
  ASSERT_NE(k.tls_context, nullptr);
  EXPECT_EQ(k.tls_context->options().sni, "zos.example.com");
}

TEST(ConfigSystemsTest, AnHttpSystemBehindATlsProxyConnectsToItOverTls) {
  const LoadResult r = loadString(std::string(kListener) +
                                      "systems:\n"
                                      "  - name: SY1\n"
                                      "    url: http://10.1.2.3:8080\n"
                                      "    httpProxy: px\n"
                                      "httpProxies:\n"
                                      "  - {name: px, host: proxy.example.com, port: 3129, tls: true}\n",
                                  "test.yaml");
  ASSERT_TRUE(r.ok()) << r.error->toString();
  const Config& c = *r.config;
  ASSERT_EQ(c.http_proxies.size(), 1u);
  EXPECT_TRUE(c.http_proxies[0].tls);
  ASSERT_NE(c.http_proxies[0].tls_context, nullptr);
  const Cluster& k = c.clusters[c.systems[0].cluster_index];
  ASSERT_EQ(k.endpoints.size(), 1u);
  EXPECT_EQ(k.endpoints[0].scheme, "https");
  EXPECT_EQ(k.endpoints[0].host, "proxy.example.com");
  EXPECT_EQ(k.endpoints[0].url, "https://proxy.example.com:3129");
  EXPECT_EQ(k.tls_context, c.http_proxies[0].tls_context);
  EXPECT_TRUE(k.tls.verify);
}

TEST(ConfigSystemsTest, RulesFailAtTheirKey) {
  const std::string base = std::string(kListener) + "systems:\n";
  EXPECT_EQ(errorOf(base + "  - name: A\n"), "test.yaml:6: systems[0]: missing required key 'url'");
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n  - name: A\n    url: http://127.0.0.1:2\n"),
            "test.yaml:8: systems[1].name: duplicate system name 'A' (first used on line 6)");
  EXPECT_EQ(errorOf(base + "  - name: 'A B'\n    url: http://127.0.0.1:1\n"),
            "test.yaml:6: systems[0].name: expected a name of 1 to 64 printable characters without spaces or "
            "quotes, got 'A B'");
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: ftp://x\n").rfind("test.yaml:7: systems[0].url: ", 0), 0u);
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n    httpProxy: p\n"),
            "test.yaml:8: systems[0].httpProxy: no HTTP proxy named 'p' in httpProxies");
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: https://127.0.0.1:1\n    httpProxy: p\n"
                           "httpProxies:\n  - {name: p, host: 127.0.0.1, port: 3128, tls: true}\n"),
            "test.yaml:8: systems[0].httpProxy: an https:// system cannot use HTTP proxy 'p', which is reached "
            "over TLS (tls: true): that needs TLS inside TLS; use a plain-HTTP proxy or an http:// system url");
  EXPECT_EQ(errorOf(std::string(kListener) + "httpProxies:\n  - name: p\n    host: h\n    port: 1\n"
                                             "    ca_file: /etc/hostname\n"),
            "test.yaml:9: httpProxies[0].ca_file: ca_file applies to a proxy reached over TLS (tls: true)");
  EXPECT_EQ(errorOf(std::string(kListener) + "httpProxies:\n  - name: p\n    host: h\n    port: 1\n"
                                             "    tls: true\n    ca_file: /nonexistent/ca.pem\n"),
            "test.yaml:10: httpProxies[0].ca_file: cannot read '/nonexistent/ca.pem': No such file or directory");
  EXPECT_EQ(errorOf(std::string(kListener) + "httpProxies:\n  - {name: p, host: h, port: 1, tls: yes please}\n")
                .rfind("test.yaml:6: httpProxies[0].tls: ", 0),
            0u);
  EXPECT_EQ(errorOf(std::string(kListener) + "httpProxies:\n  - {name: p, host: h}\n"),
            "test.yaml:6: httpProxies[0]: missing required key 'port'");
  EXPECT_NE(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n    timeout: 11m\n").find("systems[0].timeout"),
            std::string::npos);
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n    tls: {verify: false}\n"),
            "test.yaml:8: systems[0].tls: tls applies to https:// endpoints, and this cluster has none");
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n    groups: G1\n"),
            "test.yaml:8: systems[0].groups: expected a sequence of group names, got 'G1'");
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n    zosVrm: 4.27\n"),
            "test.yaml:8: systems[0].zosVrm: expected a z/OS level vv.rr.mm such as '04.27.00', got '4.27'");
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n    zosVrm: 04.27.0a\n"),
            "test.yaml:8: systems[0].zosVrm: expected a z/OS level vv.rr.mm such as '04.27.00', got '04.27.0a'");
  EXPECT_EQ(errorOf(base + "  - name: A\n    url: http://127.0.0.1:1\n    zosNode: ''\n").rfind(
                "test.yaml:8: systems[0].zosNode: expected a name of 1 to 64", 0),
            0u);
  EXPECT_EQ(errorOf(std::string(kListener) + "systems: 3\n"),
            "test.yaml:5: systems: expected a sequence of systems, got '3'");
}

}  // namespace
}  // namespace plexgate::config
