// Tests for the upstream half of the config schema (engine/config/
// config_upstreams.cc and the proxy/listener parts of config_loader.cc):
// clusters, proxy routes, trusted_proxies and Zowe API ML static service
// definitions. Successful loads check every converted field; every rule fails
// with the exact message an operator will read, pinned word for word.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>

#include "config_test_util.h"

#include "engine/config/config_loader.h"

namespace plexgate::config {
namespace {

using namespace std::chrono_literals;
using testutil::errorOf;
using testutil::kListener;
using testutil::load;

// kListener plus a valid cluster 'c' on lines 4-6, ready for its keys from line 7.
std::string withCluster(std::string_view clusterBody) {
  return std::string(kListener) +
         "clusters:\n"
         "  - name: c\n"
         "    endpoints: ['http://127.0.0.1:9000']\n" +
         std::string(clusterBody);
}

// kListener plus a valid service on lines 4-7, ready for its keys from line 8.
std::string withService(std::string_view serviceBody) {
  return std::string(kListener) +
         "services:\n"
         "  - serviceId: svc\n"
         "    instanceBaseUrls: ['http://127.0.0.1:9000']\n"
         "    routes: [{gatewayUrl: api/v1}]\n" +
         std::string(serviceBody);
}

// kListener plus one proxy route whose `proxy:` value is on line 6.
std::string withProxy(std::string_view proxyValue) {
  return std::string(kListener) +
         "    routes:\n"
         "      - prefix: /\n"
         "        proxy: " +
         std::string(proxyValue) + "\n";
}

// The error for a cluster whose only endpoint (line 7) is `url`.
std::string endpointError(std::string_view url) {
  return errorOf(std::string(kListener) +
                 "clusters:\n"
                 "  - name: c\n"
                 "    endpoints:\n"
                 "      - '" +
                 std::string(url) + "'\n");
}

// The error for trusted_proxies: [entry], the entry on line 5.
std::string trustedProxyError(std::string_view entry) {
  return errorOf(std::string(kListener) + "    trusted_proxies:\n      - " + std::string(entry) +
                 "\n");
}

// ---- clusters: successful loads -----------------------------------------------

TEST(ClusterConfig, EverySettingIsRead) {
  const ConfigPtr config = load(std::string(kListener) +
                                "clusters:\n"
                                "  - name: api-pool_1\n"
                                "    endpoints:\n"
                                "      - http://127.0.0.1:9000\n"
                                "      - https://Backend.Example.com/base/path/\n"
                                "      - 'http://[::1]:9001/'\n"
                                "      - HTTP://10.0.0.2\n"
                                "    lb: consistent_hash\n"
                                "    hash_on: {cookie: session}\n"
                                "    connect_timeout: 250ms\n"
                                "    response_timeout: 30s\n"
                                "    idle_timeout: 2m\n"
                                "    pool: {max_idle: 0, idle_timeout: 5s, max_requests: 100}\n"
                                "    health_check:\n"
                                "      path: /healthz?full=1\n"
                                "      interval: 3s\n"
                                "      timeout: 500ms\n"
                                "      healthy_threshold: 1\n"
                                "      unhealthy_threshold: 100\n"
                                "    passive: {consecutive_failures: 0, eject_for: 1m}\n"
                                "    retries: 0\n"
                                "    retry_backoff: 0ms\n");
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->clusters.size(), 1u);
  const Cluster& c = config->clusters[0];
  EXPECT_EQ(c.name, "api-pool_1");
  ASSERT_EQ(c.endpoints.size(), 4u);

  EXPECT_EQ(c.endpoints[0].url, "http://127.0.0.1:9000");
  EXPECT_EQ(c.endpoints[0].scheme, "http");
  EXPECT_EQ(c.endpoints[0].host, "127.0.0.1");
  EXPECT_EQ(c.endpoints[0].port, 9000);
  EXPECT_EQ(c.endpoints[0].base_path, "");
  EXPECT_EQ(c.endpoints[0].instance_id, "127.0.0.1:9000");

  EXPECT_EQ(c.endpoints[1].url, "https://Backend.Example.com/base/path/");
  EXPECT_EQ(c.endpoints[1].scheme, "https");
  EXPECT_EQ(c.endpoints[1].host, "backend.example.com");
  EXPECT_EQ(c.endpoints[1].port, 443);
  EXPECT_EQ(c.endpoints[1].base_path, "/base/path");
  EXPECT_EQ(c.endpoints[1].instance_id, "backend.example.com:443");

  EXPECT_EQ(c.endpoints[2].url, "http://[::1]:9001/");
  EXPECT_EQ(c.endpoints[2].host, "::1");
  EXPECT_EQ(c.endpoints[2].port, 9001);
  EXPECT_EQ(c.endpoints[2].base_path, "");
  EXPECT_EQ(c.endpoints[2].instance_id, "[::1]:9001");

  EXPECT_EQ(c.endpoints[3].scheme, "http");
  EXPECT_EQ(c.endpoints[3].port, 80);
  EXPECT_EQ(c.endpoints[3].instance_id, "10.0.0.2:80");

  EXPECT_EQ(c.lb, LbPolicy::ConsistentHash);
  EXPECT_EQ(c.hash_header, "");
  EXPECT_EQ(c.hash_cookie, "session");
  EXPECT_EQ(c.connect_timeout, 250ms);
  EXPECT_EQ(c.response_timeout, 30s);
  EXPECT_EQ(c.idle_timeout, 2min);
  EXPECT_EQ(c.pool.max_idle, 0u);
  EXPECT_EQ(c.pool.idle_timeout, 5s);
  EXPECT_EQ(c.pool.max_requests, 100u);
  EXPECT_TRUE(c.health.enabled);
  EXPECT_EQ(c.health.path, "/healthz?full=1");
  EXPECT_EQ(c.health.interval, 3s);
  EXPECT_EQ(c.health.timeout, 500ms);
  EXPECT_EQ(c.health.healthy_threshold, 1u);
  EXPECT_EQ(c.health.unhealthy_threshold, 100u);
  EXPECT_EQ(c.passive.consecutive_failures, 0u);
  EXPECT_EQ(c.passive.eject_for, 1min);
  EXPECT_EQ(c.retries, 0u);
  EXPECT_EQ(c.retry_backoff, 0ms);
}

TEST(ClusterConfig, MinimalClusterGetsDefaults) {
  const ConfigPtr config = load(withCluster("  - name: h\n"
                                            "    endpoints: [http://a]\n"
                                            "    lb: consistent_hash\n"
                                            "    hash_on:\n"
                                            "      header: X-User\n"
                                            "  - name: lr\n"
                                            "    endpoints: [http://a]\n"
                                            "    lb: least_request\n"));
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->clusters.size(), 3u);
  const Cluster defaults;
  const Cluster& c = config->clusters[0];
  EXPECT_EQ(c.name, "c");
  EXPECT_EQ(c.lb, LbPolicy::RoundRobin);
  EXPECT_EQ(c.connect_timeout, defaults.connect_timeout);
  EXPECT_EQ(c.response_timeout, defaults.response_timeout);
  EXPECT_EQ(c.idle_timeout, defaults.idle_timeout);
  EXPECT_EQ(c.pool.max_idle, defaults.pool.max_idle);
  EXPECT_EQ(c.pool.idle_timeout, defaults.pool.idle_timeout);
  EXPECT_EQ(c.pool.max_requests, defaults.pool.max_requests);
  EXPECT_FALSE(c.health.enabled);
  EXPECT_EQ(c.health.path, "");
  EXPECT_EQ(c.passive.consecutive_failures, defaults.passive.consecutive_failures);
  EXPECT_EQ(c.passive.eject_for, defaults.passive.eject_for);
  EXPECT_EQ(c.retries, defaults.retries);
  EXPECT_EQ(c.retry_backoff, defaults.retry_backoff);
  EXPECT_EQ(config->clusters[1].lb, LbPolicy::ConsistentHash);
  EXPECT_EQ(config->clusters[1].hash_header, "X-User");
  EXPECT_EQ(config->clusters[1].hash_cookie, "");
  EXPECT_EQ(config->clusters[1].endpoints.at(0).instance_id, "a:80");
  EXPECT_EQ(config->clusters[2].lb, LbPolicy::LeastRequest);
  EXPECT_TRUE(config->services.empty());
}

TEST(ClusterConfig, EmptyOrNullSectionsAreAccepted) {
  for (std::string_view tail : {"clusters:\n", "clusters: []\n", "services:\n", "services: []\n",
                                "catalogUiTiles:\n", "catalogUiTiles: {}\n"}) {
    const ConfigPtr config = load(std::string(kListener) + std::string(tail));
    ASSERT_NE(config, nullptr) << tail;
    EXPECT_TRUE(config->clusters.empty());
    EXPECT_TRUE(config->services.empty());
  }
}

TEST(ClusterConfig, HealthCheckDefaultsApplyWithinIt) {
  const ConfigPtr config = load(withCluster("    health_check: {path: /}\n"));
  ASSERT_NE(config, nullptr);
  const HealthCheck& health = config->clusters.at(0).health;
  EXPECT_TRUE(health.enabled);
  EXPECT_EQ(health.path, "/");
  EXPECT_EQ(health.interval, 5s);
  EXPECT_EQ(health.timeout, 2s);
  EXPECT_EQ(health.healthy_threshold, 2u);
  EXPECT_EQ(health.unhealthy_threshold, 3u);
}

// ---- proxy routes and listener settings ---------------------------------------

TEST(ProxyConfig, ProxyRouteMayNameALaterCluster) {
  const ConfigPtr config = load(std::string(kListener) +
                                "    routes:\n"
                                "      - prefix: /api/\n"
                                "        proxy: {cluster: backend, rewrite_prefix: /}\n"
                                "      - prefix: /\n"
                                "        proxy:\n"
                                "          cluster: backend\n"
                                "clusters:\n"
                                "  - name: backend\n"
                                "    endpoints: ['http://127.0.0.1:9000']\n");
  ASSERT_NE(config, nullptr);
  const Listener& gw = config->listeners.at(0);
  ASSERT_EQ(gw.routes.size(), 2u);
  const auto& api = std::get<ProxyAction>(gw.routes[0].action);
  EXPECT_EQ(api.cluster, "backend");
  EXPECT_EQ(api.rewrite_prefix, "/");
  const auto& root = std::get<ProxyAction>(gw.routes[1].action);
  EXPECT_EQ(root.cluster, "backend");
  EXPECT_EQ(root.rewrite_prefix, std::nullopt);
}

TEST(ProxyConfig, ListenerServicesAndTrustedProxies) {
  const ConfigPtr config = load(
      "listeners:\n"
      "  - name: gw\n"
      "    address: 127.0.0.1:7554\n"
      "    services: true\n"
      "    trusted_proxies: [127.0.0.1, '::1', 10.0.0.0/8, '2001:DB8::/032', 0.0.0.0/0, "
      "'::/0', 192.168.1.7/32]\n"
      "  - name: other\n"
      "    address: 127.0.0.1:7555\n"
      "    trusted_proxies:\n");
  ASSERT_NE(config, nullptr);
  const Listener& gw = config->listeners.at(0);
  EXPECT_TRUE(gw.services);
  const std::vector<std::string> expected = {"127.0.0.1/32", "::1/128",     "10.0.0.0/8",
                                             "2001:DB8::/32", "0.0.0.0/0", "::/0",
                                             "192.168.1.7/32"};
  EXPECT_EQ(gw.trusted_proxies, expected);
  EXPECT_FALSE(config->listeners.at(1).services);
  EXPECT_TRUE(config->listeners.at(1).trusted_proxies.empty());
}

// ---- services: successful loads -----------------------------------------------

TEST(ServiceConfig, ZoweStaticDefinitionLoads) {
  const ConfigPtr config = load(
      std::string(kListener) +
      "services:\n"
      "  - serviceId: discoverableclient\n"
      "    title: Service Spring Onboarding Enabler sample application API\n"
      "    description: Sample API services to demonstrate Spring Onboarding Enabler\n"
      "    catalogUiTileId: cademoapps\n"
      "    instanceBaseUrls:\n"
      "      - http://localhost:10012/discoverableclient/\n"
      "      - 'http://[::1]:10013/discoverableclient'\n"
      "    homePageRelativeUrl: /\n"
      "    statusPageRelativeUrl: /application/info\n"
      "    healthCheckRelativeUrl: /application/health\n"
      "    routes:\n"
      "      - gatewayUrl: /api/v1/\n"
      "        serviceRelativeUrl: /api/v1/\n"
      "      - gatewayUrl: ui/v1\n"
      "        serviceRelativeUrl:\n"
      "      - gatewayUrl: ws/v1\n"
      "        serviceRelativeUrl: /ws\n"
      "    authentication:\n"
      "      scheme: bypass\n"
      "      applid: ZOWEAPPL\n"
      "    apiInfo:\n"
      "      - apiId: zowe.apiml.discoverableclient.rest\n"
      "        gatewayUrl: api/v1\n"
      "        version: 1.0.0\n"
      "        swaggerUrl: http://localhost:10012/discoverableclient/v3/api-docs\n"
      "        documentationUrl: https://www.zowe.org\n"
      "        graphqlUrl:\n"
      "    customMetadata:\n"
      "      apiml:\n"
      "        enableUrlEncodedCharacters: true\n"
      "      Any Key: [1, {two: 2}]\n"
      "catalogUiTiles:\n"
      "  cademoapps:\n"
      "    title: Sample API Mediation Layer Applications\n"
      "    description: Applications which demonstrate the API Mediation Layer\n"
      "clusters:\n"
      "  - name: declared\n"
      "    endpoints: ['http://127.0.0.1:9000']\n");
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->services.size(), 1u);
  const Service& s = config->services[0];
  EXPECT_EQ(s.service_id, "discoverableclient");
  EXPECT_EQ(s.title, "Service Spring Onboarding Enabler sample application API");
  EXPECT_EQ(s.description, "Sample API services to demonstrate Spring Onboarding Enabler");
  EXPECT_EQ(s.catalog_ui_tile_id, "cademoapps");
  const std::vector<std::string> urls = {"http://localhost:10012/discoverableclient/",
                                         "http://[::1]:10013/discoverableclient"};
  EXPECT_EQ(s.instance_base_urls, urls);
  EXPECT_EQ(s.home_page_relative_url, "/");
  EXPECT_EQ(s.status_page_relative_url, "/application/info");
  EXPECT_EQ(s.health_check_relative_url, "/application/health");
  ASSERT_EQ(s.routes.size(), 3u);
  EXPECT_EQ(s.routes[0].gateway_url, "api/v1");
  EXPECT_EQ(s.routes[0].service_relative_url, "/api/v1");
  EXPECT_EQ(s.routes[1].gateway_url, "ui/v1");
  EXPECT_EQ(s.routes[1].service_relative_url, "/");
  EXPECT_EQ(s.routes[2].gateway_url, "ws/v1");
  EXPECT_EQ(s.routes[2].service_relative_url, "/ws");
  EXPECT_EQ(s.authentication_scheme, "bypass");
  ASSERT_EQ(s.api_info.size(), 1u);
  EXPECT_EQ(s.api_info[0].api_id, "zowe.apiml.discoverableclient.rest");
  EXPECT_EQ(s.api_info[0].gateway_url, "api/v1");
  EXPECT_EQ(s.api_info[0].version, "1.0.0");
  EXPECT_EQ(s.api_info[0].swagger_url, "http://localhost:10012/discoverableclient/v3/api-docs");
  EXPECT_EQ(s.api_info[0].documentation_url, "https://www.zowe.org");
  EXPECT_EQ(s.cluster, "service/discoverableclient");

  // Declared clusters first, then one per service, whatever the file order.
  ASSERT_EQ(config->clusters.size(), 2u);
  EXPECT_EQ(config->clusters[0].name, "declared");
  const Cluster& c = config->clusters[1];
  EXPECT_EQ(c.name, "service/discoverableclient");
  ASSERT_EQ(c.endpoints.size(), 2u);
  EXPECT_EQ(c.endpoints[0].url, "http://localhost:10012/discoverableclient/");
  EXPECT_EQ(c.endpoints[0].host, "localhost");
  EXPECT_EQ(c.endpoints[0].port, 10012);
  EXPECT_EQ(c.endpoints[0].base_path, "/discoverableclient");
  EXPECT_EQ(c.endpoints[0].instance_id, "localhost:10012");
  EXPECT_EQ(c.endpoints[1].host, "::1");
  EXPECT_EQ(c.endpoints[1].port, 10013);
  EXPECT_EQ(c.endpoints[1].base_path, "/discoverableclient");
  EXPECT_EQ(c.endpoints[1].instance_id, "[::1]:10013");
  EXPECT_TRUE(c.health.enabled);
  EXPECT_EQ(c.health.path, "/discoverableclient/application/health");
  EXPECT_EQ(c.health.interval, 10s);
  EXPECT_EQ(c.health.timeout, 2s);
  const Cluster defaults;
  EXPECT_EQ(c.lb, LbPolicy::RoundRobin);
  EXPECT_EQ(c.connect_timeout, defaults.connect_timeout);
  EXPECT_EQ(c.response_timeout, defaults.response_timeout);
  EXPECT_EQ(c.retries, defaults.retries);
}

TEST(ServiceConfig, MinimalServicesGetDefaults) {
  const ConfigPtr config = load(withService(
      "  - serviceId: b2\n"
      "    title:\n"
      "    instanceBaseUrls: ['https://b.example.com/one', 'https://c.example.com:8443/two/']\n"
      "    homePageRelativeUrl: ''\n"
      "    healthCheckRelativeUrl:\n"
      "    routes:\n"
      "      - gatewayUrl: api\n"
      "        serviceRelativeUrl: ''\n"
      "    authentication: {applid: X}\n"
      "    apiInfo:\n"
      "    customMetadata:\n"));
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->services.size(), 2u);
  ASSERT_EQ(config->clusters.size(), 2u);
  const Service& a = config->services[0];
  EXPECT_EQ(a.service_id, "svc");
  EXPECT_EQ(a.title, "");
  EXPECT_EQ(a.authentication_scheme, "bypass");
  EXPECT_TRUE(a.api_info.empty());
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].gateway_url, "api/v1");
  EXPECT_EQ(a.routes[0].service_relative_url, "/");
  EXPECT_EQ(a.cluster, "service/svc");
  EXPECT_EQ(config->clusters[0].name, "service/svc");
  EXPECT_FALSE(config->clusters[0].health.enabled);

  const Service& b = config->services[1];
  EXPECT_EQ(b.home_page_relative_url, "");
  EXPECT_EQ(b.health_check_relative_url, "");
  EXPECT_EQ(b.routes.at(0).service_relative_url, "/");
  const Cluster& bc = config->clusters[1];
  EXPECT_EQ(bc.name, "service/b2");
  // Without a health check, instances may have different base paths.
  ASSERT_EQ(bc.endpoints.size(), 2u);
  EXPECT_EQ(bc.endpoints[0].base_path, "/one");
  EXPECT_EQ(bc.endpoints[0].instance_id, "b.example.com:443");
  EXPECT_EQ(bc.endpoints[1].base_path, "/two");
  EXPECT_EQ(bc.endpoints[1].instance_id, "c.example.com:8443");
  EXPECT_FALSE(bc.health.enabled);
}

TEST(ServiceConfig, HealthPathWithoutBasePath) {
  const ConfigPtr config = load(withService("    healthCheckRelativeUrl: /health\n"));
  ASSERT_NE(config, nullptr);
  EXPECT_TRUE(config->clusters.at(0).health.enabled);
  EXPECT_EQ(config->clusters.at(0).health.path, "/health");
}

// ---- cluster errors ----------------------------------------------------------------

TEST(ClusterErrors, SectionShape) {
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters: {name: c}\n"),
            "test.yaml:4: clusters: expected a sequence of clusters, got a mapping");
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - c\n"),
            "test.yaml:5: clusters[0]: expected a mapping, got 'c'");
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - endpoints: [http://a]\n"),
            "test.yaml:5: clusters[0]: missing required key 'name'");
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - name: c\n"),
            "test.yaml:5: clusters[0]: missing required key 'endpoints'");
  EXPECT_EQ(errorOf(withCluster("    endpionts: [http://a]\n")),
            "test.yaml:7: clusters[0].endpionts: unknown key; did you mean 'endpoints'?");
  EXPECT_EQ(errorOf(withCluster("    weight: 3\n")),
            "test.yaml:7: clusters[0].weight: unknown key (expected one of: name, endpoints, lb, "
            "hash_on, connect_timeout, response_timeout, idle_timeout, pool, health_check, "
            "passive, retries, retry_backoff, tls)");
}

TEST(ClusterErrors, Name) {
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - {name: Api Pool, endpoints: "
                                             "[http://a]}\n"),
            "test.yaml:5: clusters[0].name: expected a name of lowercase letters, digits, '_' "
            "and '-', got 'Api Pool'");
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - {name: service/x, endpoints: "
                                             "[http://a]}\n"),
            "test.yaml:5: clusters[0].name: names starting with 'service/' are reserved for "
            "clusters made from services, got 'service/x'");
  EXPECT_EQ(errorOf(withCluster("  - name: c\n    endpoints: [http://a]\n")),
            "test.yaml:7: clusters[1].name: duplicate cluster name 'c' (first used on line 5)");
}

TEST(ClusterErrors, EndpointsShape) {
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - name: c\n    endpoints: http://a\n"),
            "test.yaml:6: clusters[0].endpoints: expected a sequence of URLs, got 'http://a'");
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - name: c\n    endpoints: []\n"),
            "test.yaml:6: clusters[0].endpoints: expected at least one URL");
  EXPECT_EQ(errorOf(std::string(kListener) + "clusters:\n  - name: c\n    endpoints:\n"),
            "test.yaml:6: clusters[0].endpoints: expected a sequence of URLs, got null");
}

TEST(ClusterErrors, EndpointUrls) {
  const std::string at = "test.yaml:7: clusters[0].endpoints[0]: ";
  const std::string like =
      "expected a URL like http://127.0.0.1:8080 or https://example.com/base, got ";
  const std::string host =
      "expected an IPv4 address, a bracketed IPv6 address or a DNS name as host, got ";
  EXPECT_EQ(endpointError("127.0.0.1:9000"), at + like + "'127.0.0.1:9000'");
  EXPECT_EQ(endpointError("http://"), at + like + "'http://'");
  EXPECT_EQ(endpointError("http://a:"), at + like + "'http://a:'");
  EXPECT_EQ(endpointError("http://[::1"), at + like + "'http://[::1'");
  // The first "://" sits in the query: there is no scheme, so no URL at all.
  EXPECT_EQ(endpointError("127.0.0.1:80/x?u=http://a"), at + like + "'127.0.0.1:80/x?u=http://a'");
  EXPECT_EQ(endpointError("a b://c"), at + like + "'a b://c'");
  EXPECT_EQ(endpointError("ftp://files.example.com"),
            at + "unsupported scheme 'ftp' (supported: http, https)");
  EXPECT_EQ(endpointError("http://user:pw@a.example.com"),
            at + "a URL here must not have user info (user@host), got "
                 "'http://user:pw@a.example.com'");
  EXPECT_EQ(endpointError("http://a/x?y=1"),
            at + "a URL here must not have a query ('?...'), got 'http://a/x?y=1'");
  EXPECT_EQ(endpointError("http://a/x#top"),
            at + "a URL here must not have a fragment ('#...'), got 'http://a/x#top'");
  EXPECT_EQ(endpointError("http://a:0"), at + "expected a port from 1 to 65535, got '0'");
  EXPECT_EQ(endpointError("http://a:70000/x"), at + "expected a port from 1 to 65535, got '70000'");
  EXPECT_EQ(endpointError("http://300.1.2.3"), at + host + "'300.1.2.3'");
  EXPECT_EQ(endpointError("http://exa mple.com"), at + host + "'exa mple.com'");
  EXPECT_EQ(endpointError("http://example.com./"), at + host + "'example.com.'");
  EXPECT_EQ(endpointError("http://[::g]:80"), at + host + "'[::g]'");
  EXPECT_EQ(endpointError("http://::1:80"),
            at + "IPv6 addresses need brackets, like http://[::1]:8080, got 'http://::1:80'");
  EXPECT_EQ(endpointError("http://a/b c"),
            at + "expected a URL path of letters, digits, %XX escapes and "
                 "-._~!$&'()*+,;=:@/, got '/b c'");
  EXPECT_EQ(endpointError("http://a/%zz"),
            at + "expected a URL path of letters, digits, %XX escapes and "
                 "-._~!$&'()*+,;=:@/, got '/%zz'");
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "clusters:\n  - name: c\n    endpoints:\n      - {url: http://a}\n"),
            at + like + "a mapping");
}

TEST(ClusterErrors, DuplicateEndpoints) {
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "clusters:\n  - name: c\n    endpoints:\n      - http://127.0.0.1:9000\n"
                    "      - http://127.0.0.1:9000/other\n"),
            "test.yaml:8: clusters[0].endpoints[1]: duplicate endpoint '127.0.0.1:9000' (first "
            "listed on line 7)");
  // Same host:port once the default port and case are filled in.
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "clusters:\n  - name: c\n    endpoints: [http://a.example.com, "
                    "'http://A.example.com:80']\n"),
            "test.yaml:6: clusters[0].endpoints[1]: duplicate endpoint 'a.example.com:80' (first "
            "listed on line 6)");
}

TEST(ClusterErrors, LoadBalancing) {
  EXPECT_EQ(errorOf(withCluster("    lb: random\n")),
            "test.yaml:7: clusters[0].lb: expected round_robin, least_request or "
            "consistent_hash, got 'random'");
  EXPECT_EQ(errorOf(withCluster("    lb: consistent_hash\n")),
            "test.yaml:7: clusters[0].lb: consistent_hash needs hash_on with a header or cookie "
            "to hash");
  EXPECT_EQ(errorOf(withCluster("    hash_on: {header: X-User}\n")),
            "test.yaml:7: clusters[0].hash_on: hash_on is only used with lb: consistent_hash");
  EXPECT_EQ(errorOf(withCluster("    lb: least_request\n    hash_on: {header: X-User}\n")),
            "test.yaml:8: clusters[0].hash_on: hash_on is only used with lb: consistent_hash");
}

TEST(ClusterErrors, HashOn) {
  const auto hashOn = [](std::string_view value) {
    return errorOf(withCluster("    lb: consistent_hash\n    hash_on: " + std::string(value) +
                               "\n"));
  };
  EXPECT_EQ(hashOn("{}"),
            "test.yaml:8: clusters[0].hash_on: expected exactly one of 'header' or 'cookie'");
  EXPECT_EQ(hashOn("{header: X-User, cookie: sid}"),
            "test.yaml:8: clusters[0].hash_on.cookie: set either header or cookie, not both");
  EXPECT_EQ(hashOn("{header: X User}"),
            "test.yaml:8: clusters[0].hash_on.header: expected a header name of letters, digits "
            "and !#$%&'*+-.^_`|~, got 'X User'");
  EXPECT_EQ(hashOn("{cookie: 'a=b'}"),
            "test.yaml:8: clusters[0].hash_on.cookie: expected a cookie name of letters, digits "
            "and !#$%&'*+-.^_`|~, got 'a=b'");
  EXPECT_EQ(hashOn("{query: id}"),
            "test.yaml:8: clusters[0].hash_on.query: unknown key (expected one of: header, "
            "cookie)");
  EXPECT_EQ(hashOn("X-User"),
            "test.yaml:8: clusters[0].hash_on: expected a mapping, got 'X-User'");
}

TEST(ClusterErrors, Timeouts) {
  EXPECT_EQ(errorOf(withCluster("    connect_timeout: 0s\n")),
            "test.yaml:7: clusters[0].connect_timeout: expected a duration from 1ms to 24h, got "
            "'0s'");
  EXPECT_EQ(errorOf(withCluster("    response_timeout: 25h\n")),
            "test.yaml:7: clusters[0].response_timeout: expected a duration from 1ms to 24h, got "
            "'25h'");
  EXPECT_EQ(errorOf(withCluster("    idle_timeout: 60\n")),
            "test.yaml:7: clusters[0].idle_timeout: expected a duration like 500ms, 10s or 2m, "
            "got '60'");
}

TEST(ClusterErrors, Pool) {
  EXPECT_EQ(errorOf(withCluster("    pool: {max_idle: 100001}\n")),
            "test.yaml:7: clusters[0].pool.max_idle: expected an integer from 0 to 100000, got "
            "'100001'");
  EXPECT_EQ(errorOf(withCluster("    pool: {max_requests: -1}\n")),
            "test.yaml:7: clusters[0].pool.max_requests: expected an integer from 0 to "
            "4294967295, got '-1'");
  EXPECT_EQ(errorOf(withCluster("    pool: {idle_timeout: 0ms}\n")),
            "test.yaml:7: clusters[0].pool.idle_timeout: expected a duration from 1ms to 24h, got "
            "'0ms'");
  EXPECT_EQ(errorOf(withCluster("    pool: {max_conns: 5}\n")),
            "test.yaml:7: clusters[0].pool.max_conns: unknown key (expected one of: max_idle, "
            "idle_timeout, max_requests)");
}

TEST(ClusterErrors, HealthCheck) {
  const auto health = [](std::string_view value) {
    return errorOf(withCluster("    health_check: " + std::string(value) + "\n"));
  };
  const std::string at = "test.yaml:7: clusters[0].health_check";
  EXPECT_EQ(health(""), at + ": expected a mapping, got null");
  EXPECT_EQ(health("{interval: 10s}"), at + ": missing required key 'path'");
  EXPECT_EQ(health("{path: healthz}"),
            at + ".path: expected a path starting with '/' and without spaces or control "
                 "characters, got 'healthz'");
  EXPECT_EQ(health("{path: /h, interval: 1s, timeout: 1s}"),
            at + ".timeout: must be shorter than interval (1s), got '1s'");
  EXPECT_EQ(health("{path: /h, interval: 1s}"),
            at + ".interval: must be longer than timeout (2s), got '1s'");
  EXPECT_EQ(health("{path: /h, healthy_threshold: 0}"),
            at + ".healthy_threshold: expected an integer from 1 to 100, got '0'");
  EXPECT_EQ(health("{path: /h, unhealthy_threshold: 101}"),
            at + ".unhealthy_threshold: expected an integer from 1 to 100, got '101'");
  EXPECT_EQ(health("{path: /h, enabled: false}"),
            at + ".enabled: unknown key (expected one of: path, interval, timeout, "
                 "healthy_threshold, unhealthy_threshold)");
}

TEST(ClusterErrors, PassiveAndRetries) {
  EXPECT_EQ(errorOf(withCluster("    passive: {consecutive_failures: 1001}\n")),
            "test.yaml:7: clusters[0].passive.consecutive_failures: expected an integer from 0 "
            "to 1000, got '1001'");
  EXPECT_EQ(errorOf(withCluster("    passive: {eject_for: 0s}\n")),
            "test.yaml:7: clusters[0].passive.eject_for: expected a duration from 1ms to 24h, got "
            "'0s'");
  EXPECT_EQ(errorOf(withCluster("    retries: 11\n")),
            "test.yaml:7: clusters[0].retries: expected an integer from 0 to 10, got '11'");
  EXPECT_EQ(errorOf(withCluster("    retry_backoff: 11s\n")),
            "test.yaml:7: clusters[0].retry_backoff: expected a duration from 0ms to 10s, got "
            "'11s'");
}

// ---- proxy route and listener errors ----------------------------------------------

TEST(ProxyErrors, UnknownCluster) {
  EXPECT_EQ(errorOf(withProxy("{cluster: nope}") +
                    "clusters:\n"
                    "  - {name: a, endpoints: [http://a]}\n"
                    "  - {name: b, endpoints: [http://b]}\n"),
            "test.yaml:6: listeners[0].routes[0].proxy.cluster: no cluster named 'nope' "
            "(declared: a, b)");
  EXPECT_EQ(errorOf(withProxy("\n          cluster: nope")),
            "test.yaml:7: listeners[0].routes[0].proxy.cluster: no cluster named 'nope' (no "
            "clusters are declared)");
  // A service's own cluster is not a proxy target.
  EXPECT_EQ(errorOf(withProxy("{cluster: service/svc}") +
                    "services:\n"
                    "  - serviceId: svc\n"
                    "    instanceBaseUrls: ['http://127.0.0.1:9000']\n"
                    "    routes: [{gatewayUrl: api/v1}]\n"),
            "test.yaml:6: listeners[0].routes[0].proxy.cluster: no cluster named 'service/svc' "
            "(no clusters are declared)");
  std::string many = withProxy("{cluster: nope}") + "clusters:\n";
  for (int i = 0; i < 12; ++i) {
    many += "  - {name: c" + std::to_string(i) + ", endpoints: [http://a]}\n";
  }
  EXPECT_EQ(errorOf(many),
            "test.yaml:6: listeners[0].routes[0].proxy.cluster: no cluster named 'nope' "
            "(declared: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, ...)");
}

TEST(ProxyErrors, ProxySettings) {
  const std::string at = "test.yaml:6: listeners[0].routes[0].proxy";
  EXPECT_EQ(errorOf(withProxy("{}")), at + ": missing required key 'cluster'");
  EXPECT_EQ(errorOf(withProxy("backend")), at + ": expected a mapping, got 'backend'");
  EXPECT_EQ(errorOf(withProxy("{cluster: ''}")),
            at + ".cluster: expected a non-empty string, got ''");
  EXPECT_EQ(errorOf(withProxy("{cluster: c, rewrite_prefix: api}")),
            at + ".rewrite_prefix: expected a path starting with '/' and without spaces or "
                 "control characters, got 'api'");
  EXPECT_EQ(errorOf(withProxy("{cluster: c, timeout: 5s}")),
            at + ".timeout: unknown key (expected one of: cluster, rewrite_prefix)");
}

TEST(ListenerErrors, Services) {
  EXPECT_EQ(errorOf(std::string(kListener) + "    services: maybe\n"),
            "test.yaml:4: listeners[0].services: expected true or false, got 'maybe'");
}

TEST(ListenerErrors, TrustedProxies) {
  const std::string at = "test.yaml:5: listeners[0].trusted_proxies[0]: ";
  const std::string like = "expected an address or CIDR range like 10.0.0.0/8 or ::1/128, got ";
  EXPECT_EQ(errorOf(std::string(kListener) + "    trusted_proxies: 10.0.0.0/8\n"),
            "test.yaml:4: listeners[0].trusted_proxies: expected a sequence of addresses or CIDR "
            "ranges, got '10.0.0.0/8'");
  EXPECT_EQ(trustedProxyError("10.0.0.0/33"),
            at + "expected a prefix length from 0 to 32 for an IPv4 range, got '10.0.0.0/33'");
  EXPECT_EQ(trustedProxyError("'::1/129'"),
            at + "expected a prefix length from 0 to 128 for an IPv6 range, got '::1/129'");
  EXPECT_EQ(trustedProxyError("localhost"), at + like + "'localhost'");
  EXPECT_EQ(trustedProxyError("10.0.0.0/"), at + like + "'10.0.0.0/'");
  EXPECT_EQ(trustedProxyError("10.0.0/8"), at + like + "'10.0.0/8'");
  EXPECT_EQ(trustedProxyError("10.0.0.0/-1"), at + like + "'10.0.0.0/-1'");
  EXPECT_EQ(trustedProxyError("'[::1]/128'"), at + like + "'[::1]/128'");
  EXPECT_EQ(trustedProxyError("{a: 1}"), at + like + "a mapping");
}

// ---- service errors ------------------------------------------------------------------

TEST(ServiceErrors, SectionShape) {
  EXPECT_EQ(errorOf(std::string(kListener) + "services: {serviceId: a}\n"),
            "test.yaml:4: services: expected a sequence of services, got a mapping");
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "services:\n  - serviceId: a\n    routes: [{gatewayUrl: api}]\n"),
            "test.yaml:5: services[0]: missing required key 'instanceBaseUrls'");
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "services:\n  - serviceId: a\n    instanceBaseUrls: [http://a]\n"),
            "test.yaml:5: services[0]: missing required key 'routes'");
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "services:\n  - instanceBaseUrls: [http://a]\n    routes: [{gatewayUrl: "
                    "api}]\n"),
            "test.yaml:5: services[0]: missing required key 'serviceId'");
}

TEST(ServiceErrors, UnknownKeysUseZoweSpelling) {
  EXPECT_EQ(errorOf(withService("    serviceid: x\n")),
            "test.yaml:8: services[0].serviceid: unknown key; did you mean 'serviceId'?");
  EXPECT_EQ(errorOf(withService("    instance_base_urls: [http://a]\n")),
            "test.yaml:8: services[0].instance_base_urls: unknown key; did you mean "
            "'instanceBaseUrls'?");
  EXPECT_EQ(errorOf(withService("    ssoCompatible: true\n")),
            "test.yaml:8: services[0].ssoCompatible: unknown key (expected one of: serviceId, "
            "title, description, catalogUiTileId, instanceBaseUrls, homePageRelativeUrl, "
            "statusPageRelativeUrl, healthCheckRelativeUrl, routes, authentication, apiInfo, "
            "customMetadata)");
  EXPECT_EQ(errorOf(withService("additionalServiceMetadata:\n  - serviceId: svc\n")),
            "test.yaml:8: additionalServiceMetadata: unknown key (expected one of: workers, "
            "listeners, clusters, services, catalogUiTiles, limits, timeouts, access_log, "
            "log_level, systems, httpProxies)");
}

TEST(ServiceErrors, ServiceId) {
  const auto withId = [](std::string_view id) {
    return errorOf(std::string(kListener) + "services:\n  - serviceId: " + std::string(id) +
                   "\n    instanceBaseUrls: [http://a]\n    routes: [{gatewayUrl: api}]\n");
  };
  const std::string at = "test.yaml:5: services[0].serviceId: ";
  EXPECT_EQ(withId("Disco-Client"),
            at + "expected 1 to 40 lowercase letters and digits, got 'Disco-Client'");
  EXPECT_EQ(withId("''"), at + "expected 1 to 40 lowercase letters and digits, got ''");
  EXPECT_EQ(withId(std::string(41, 'a')),
            at + "expected 1 to 40 lowercase letters and digits, got '" + std::string(41, 'a') +
                "'");
  EXPECT_EQ(errorOf(withService("  - serviceId: svc\n"
                                "    instanceBaseUrls: ['http://127.0.0.1:9001']\n"
                                "    routes: [{gatewayUrl: api/v1}]\n")),
            "test.yaml:8: services[1].serviceId: duplicate serviceId 'svc' (first used on line "
            "5)");
}

TEST(ServiceErrors, InstanceBaseUrls) {
  const auto withUrls = [](std::string_view urls) {
    return errorOf(std::string(kListener) +
                   "services:\n  - serviceId: a\n    routes: [{gatewayUrl: api}]\n"
                   "    instanceBaseUrls: " +
                   std::string(urls) + "\n");
  };
  const std::string at = "test.yaml:7: services[0].instanceBaseUrls";
  EXPECT_EQ(withUrls("[]"), at + ": expected at least one URL");
  EXPECT_EQ(withUrls("http://a"), at + ": expected a sequence of URLs, got 'http://a'");
  EXPECT_EQ(withUrls("['ftp://a']"),
            at + "[0]: unsupported scheme 'ftp' (supported: http, https)");
  EXPECT_EQ(withUrls("['https://a:8443/x', 'https://a:8443/y']"),
            at + "[1]: duplicate endpoint 'a:8443' (first listed on line 7)");
}

TEST(ServiceErrors, HealthCheckNeedsOneBasePath) {
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "services:\n"
                    "  - serviceId: a\n"
                    "    routes: [{gatewayUrl: api}]\n"
                    "    healthCheckRelativeUrl: /health\n"
                    "    instanceBaseUrls:\n"
                    "      - http://a/one\n"
                    "      - http://b/one/\n"
                    "      - http://c/two\n"),
            "test.yaml:11: services[0].instanceBaseUrls[2]: with healthCheckRelativeUrl set, "
            "every instance needs the same base path as the first ('/one'), got '/two'");
}

TEST(ServiceErrors, RelativeUrls) {
  const std::string like =
      ": expected a path starting with '/' and without spaces or control characters, got ";
  EXPECT_EQ(errorOf(withService("    homePageRelativeUrl: home\n")),
            "test.yaml:8: services[0].homePageRelativeUrl" + like + "'home'");
  EXPECT_EQ(errorOf(withService("    statusPageRelativeUrl: /a b\n")),
            "test.yaml:8: services[0].statusPageRelativeUrl" + like + "'/a b'");
  EXPECT_EQ(errorOf(withService("    healthCheckRelativeUrl: [/h]\n")),
            "test.yaml:8: services[0].healthCheckRelativeUrl: expected a string, got a sequence");
  EXPECT_EQ(errorOf(withService("    title: {a: 1}\n")),
            "test.yaml:8: services[0].title: expected a string, got a mapping");
}

TEST(ServiceErrors, Routes) {
  const auto withRoutes = [](std::string_view routes) {
    return errorOf(std::string(kListener) +
                   "services:\n  - serviceId: a\n    instanceBaseUrls: [http://a]\n"
                   "    routes:" +
                   std::string(routes));
  };
  const std::string like =
      "expected a gateway URL like api/v1 (letters, digits, '.', '_', '~', '-' and '/'), got ";
  EXPECT_EQ(withRoutes(" []\n"), "test.yaml:7: services[0].routes: expected at least one route");
  EXPECT_EQ(withRoutes(" api/v1\n"),
            "test.yaml:7: services[0].routes: expected a sequence of routes, got 'api/v1'");
  EXPECT_EQ(withRoutes("\n      - serviceRelativeUrl: /api\n"),
            "test.yaml:8: services[0].routes[0]: missing required key 'gatewayUrl'");
  EXPECT_EQ(withRoutes("\n      - gatewayUrl: /\n"),
            "test.yaml:8: services[0].routes[0].gatewayUrl: " + like + "'/'");
  EXPECT_EQ(withRoutes("\n      - gatewayUrl: api v1\n"),
            "test.yaml:8: services[0].routes[0].gatewayUrl: " + like + "'api v1'");
  EXPECT_EQ(withRoutes("\n      - gatewayUrl: api//v1\n"),
            "test.yaml:8: services[0].routes[0].gatewayUrl: " + like + "'api//v1'");
  EXPECT_EQ(withRoutes("\n      - gatewayUrl: api/../ui\n"),
            "test.yaml:8: services[0].routes[0].gatewayUrl: " + like + "'api/../ui'");
  EXPECT_EQ(withRoutes("\n      - gatewayUrl: api/v1\n      - gatewayUrl: /api/v1/\n"),
            "test.yaml:9: services[0].routes[1].gatewayUrl: duplicate gatewayUrl 'api/v1' (first "
            "used on line 8)");
  EXPECT_EQ(withRoutes("\n      - {gatewayUrl: api, serviceRelativeUrl: api}\n"),
            "test.yaml:8: services[0].routes[0].serviceRelativeUrl: expected a path starting "
            "with '/' and without spaces or control characters, got 'api'");
  EXPECT_EQ(withRoutes("\n      - {gatewayUrl: api, url: /x}\n"),
            "test.yaml:8: services[0].routes[0].url: unknown key (expected one of: gatewayUrl, "
            "serviceRelativeUrl)");
}

TEST(ServiceErrors, Authentication) {
  EXPECT_EQ(errorOf(withService("    authentication:\n      scheme: zoweJwt\n")),
            "test.yaml:9: services[0].authentication.scheme: authentication scheme 'zoweJwt' is "
            "not supported yet (supported: bypass)");
  EXPECT_EQ(errorOf(withService("    authentication: {scheme: httpBasicPassTicket, applid: "
                                "ZOWEAPPL}\n")),
            "test.yaml:8: services[0].authentication.scheme: authentication scheme "
            "'httpBasicPassTicket' is not supported yet (supported: bypass)");
  EXPECT_EQ(errorOf(withService("    authentication: {supportsClientCert: true}\n")),
            "test.yaml:8: services[0].authentication.supportsClientCert: unknown key (expected "
            "one of: scheme, applid)");
  EXPECT_EQ(errorOf(withService("    authentication: bypass\n")),
            "test.yaml:8: services[0].authentication: expected a mapping, got 'bypass'");
}

TEST(ServiceErrors, ApiInfoAndCustomMetadata) {
  EXPECT_EQ(errorOf(withService("    apiInfo: {apiId: a}\n")),
            "test.yaml:8: services[0].apiInfo: expected a sequence of API descriptions, got a "
            "mapping");
  EXPECT_EQ(errorOf(withService("    apiInfo:\n      - apiId: a\n        defaultApi: true\n")),
            "test.yaml:10: services[0].apiInfo[0].defaultApi: unknown key (expected one of: "
            "apiId, gatewayUrl, version, swaggerUrl, documentationUrl, graphqlUrl)");
  EXPECT_EQ(errorOf(withService("    apiInfo:\n      - version: [1]\n")),
            "test.yaml:9: services[0].apiInfo[0].version: expected a string, got a sequence");
  EXPECT_EQ(errorOf(withService("    customMetadata: free text\n")),
            "test.yaml:8: services[0].customMetadata: expected a mapping, got 'free text'");
}

TEST(ServiceErrors, CatalogUiTiles) {
  EXPECT_EQ(errorOf(std::string(kListener) + "catalogUiTiles: [a]\n"),
            "test.yaml:4: catalogUiTiles: expected a mapping of tile ids to {title, description}, "
            "got a sequence");
  EXPECT_EQ(errorOf(std::string(kListener) + "catalogUiTiles:\n  apps: Applications\n"),
            "test.yaml:5: catalogUiTiles.apps: expected a mapping, got 'Applications'");
  EXPECT_EQ(errorOf(std::string(kListener) + "catalogUiTiles:\n  apps: {title: A, version: 1}\n"),
            "test.yaml:5: catalogUiTiles.apps.version: unknown key (expected one of: title, "
            "description)");
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "catalogUiTiles:\n  apps: {title: A}\n  apps: {title: B}\n"),
            "test.yaml:6: catalogUiTiles.apps: duplicate key (first defined on line 5)");
}

}  // namespace
}  // namespace plexgate::config
