// Tests for the YAML config loader (engine/config/config_loader.h): the example
// file loads, defaults and conversions are right, and every rule fails with
// the exact message an operator will read, pinned word for word.
#include "engine/config/config_loader.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>

#include "config_test_util.h"

namespace plexgate::config {
namespace {

using namespace std::chrono_literals;
using testutil::errorOf;
using testutil::kListener;
using testutil::load;

// kListener plus one route on lines 4-5, ready for lines from 6 on.
std::string withRoute(std::string_view routeBody) {
  return std::string(kListener) +
         "    routes:\n"
         "      - prefix: /\n" +
         std::string(routeBody);
}

// kListener plus a respond route whose settings start on line 7.
std::string withRespond(std::string_view respondBody) {
  return withRoute("        respond:\n" + std::string(respondBody));
}

std::string repoRoot() {
  const std::string self = __FILE__;
  const std::string suffix = "tests/unit/engine/config/config_loader_test.cc";
  return self.substr(0, self.size() - suffix.size());
}

// ---- successful loads ---------------------------------------------------------

TEST(ConfigLoader, ExampleFileLoads) {
  const std::string path = repoRoot() + "examples/plexgate.yaml";
  const LoadResult result = loadFile(path);
  ASSERT_FALSE(result.error) << result.error->toString();
  const Config& config = *result.config;
  EXPECT_EQ(config.source, path);
  EXPECT_EQ(config.workers, 0u);
  ASSERT_EQ(config.listeners.size(), 2u);
  const Listener& gateway = config.listeners[0];
  EXPECT_EQ(gateway.name, "gateway");
  EXPECT_FALSE(gateway.admin);
  // The admin pages on Zowe's admin port, loopback only.
  const Listener& admin = config.listeners[1];
  EXPECT_EQ(admin.address, "127.0.0.1:7552");
  EXPECT_TRUE(admin.admin);
  EXPECT_TRUE(admin.routes.empty());
  EXPECT_EQ(gateway.address, "127.0.0.1:7554");
  EXPECT_EQ(gateway.host, "127.0.0.1");
  EXPECT_EQ(gateway.port, 7554);
  EXPECT_TRUE(gateway.services);
  EXPECT_TRUE(gateway.trusted_proxies.empty());
  // The cluster, proxy and service examples are commented out: nothing upstream runs.
  EXPECT_TRUE(config.clusters.empty());
  EXPECT_TRUE(config.services.empty());
  ASSERT_EQ(gateway.routes.size(), 4u);
  EXPECT_EQ(gateway.routes[0].prefix, "/echo");
  EXPECT_TRUE(std::holds_alternative<EchoAction>(gateway.routes[0].action));
  const auto& bytes = std::get<RespondAction>(gateway.routes[1].action);
  EXPECT_EQ(bytes.body, "");
  EXPECT_EQ(bytes.body_size, 16u * 1024);
  ASSERT_EQ(bytes.headers.size(), 1u);
  EXPECT_EQ(bytes.headers[0].first, "Content-Type");
  EXPECT_EQ(bytes.headers[0].second, "application/octet-stream");
  const auto& slow = std::get<RespondAction>(gateway.routes[2].action);
  EXPECT_EQ(slow.body, "slow hello\n");
  EXPECT_EQ(slow.delay, 500ms);
  const auto& root = std::get<RespondAction>(gateway.routes[3].action);
  EXPECT_EQ(gateway.routes[3].prefix, "/");
  EXPECT_EQ(root.status, 200);
  EXPECT_EQ(root.body, "hello from plexgate\n");
  EXPECT_EQ(config.limits.max_head_bytes, 16u * 1024);
  EXPECT_EQ(config.limits.max_headers, 100u);
  EXPECT_EQ(config.limits.max_uri_bytes, 8u * 1024);
  EXPECT_EQ(config.limits.max_body_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(config.timeouts.header, 10s);
  EXPECT_EQ(config.timeouts.idle, 60s);
  EXPECT_EQ(config.timeouts.drain, 10s);
  EXPECT_TRUE(config.access_log.enabled);
  EXPECT_EQ(config.access_log.path, "-");
  EXPECT_EQ(config.access_log.format, AccessLogFormat::Combined);
  EXPECT_EQ(config.log_level, LogLevel::Info);
}

TEST(ConfigLoader, MinimalConfigGetsDefaults) {
  const ConfigPtr config = load(kListener);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->source, "test.yaml");
  EXPECT_EQ(config->workers, 0u);
  ASSERT_EQ(config->listeners.size(), 1u);
  EXPECT_TRUE(config->listeners[0].routes.empty());
  EXPECT_FALSE(config->listeners[0].services);
  EXPECT_TRUE(config->listeners[0].trusted_proxies.empty());
  EXPECT_TRUE(config->clusters.empty());
  EXPECT_TRUE(config->services.empty());
  const Limits limits;
  EXPECT_EQ(config->limits.max_head_bytes, limits.max_head_bytes);
  EXPECT_EQ(config->limits.max_headers, limits.max_headers);
  EXPECT_EQ(config->limits.max_uri_bytes, limits.max_uri_bytes);
  EXPECT_EQ(config->limits.max_body_bytes, limits.max_body_bytes);
  EXPECT_EQ(config->limits.max_requests_per_connection, 0u);
  EXPECT_EQ(config->timeouts.header, 10s);
  EXPECT_EQ(config->timeouts.idle, 60s);
  EXPECT_EQ(config->timeouts.drain, 10s);
  EXPECT_FALSE(config->access_log.enabled);
  EXPECT_EQ(config->access_log.path, "-");
  EXPECT_EQ(config->access_log.format, AccessLogFormat::Combined);
  EXPECT_EQ(config->log_level, LogLevel::Info);
}

TEST(ConfigLoader, EverySettingIsRead) {
  const ConfigPtr config = load(
      "workers: 8\n"
      "listeners:\n"
      "  - name: edge_1\n"
      "    address: 0.0.0.0:0\n"
      "    routes:\n"
      "      - prefix: /api/\n"
      "        host: '*.Example.COM'\n"
      "        respond: {status: 503, body: busy, delay: 2m}\n"
      "      - prefix: /\n"
      "        echo:\n"
      "limits:\n"
      "  max_head_bytes: 1m\n"
      "  max_headers: 10000\n"
      "  max_uri_bytes: 64\n"
      "  max_body_bytes: 64G\n"
      "  max_requests_per_connection: 1000\n"
      "timeouts: {header: 1ms, idle: 24h, drain: 90s}\n"
      "access_log: {enabled: false, path: /var/log/plexgate.log, format: json}\n"
      "log_level: debug\n");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->workers, 8u);
  const Listener& edge = config->listeners.at(0);
  EXPECT_EQ(edge.name, "edge_1");
  EXPECT_EQ(edge.host, "0.0.0.0");
  EXPECT_EQ(edge.port, 0);
  ASSERT_EQ(edge.routes.size(), 2u);
  EXPECT_EQ(edge.routes[0].host, "*.example.com");
  EXPECT_EQ(edge.routes[0].prefix, "/api/");
  const auto& busy = std::get<RespondAction>(edge.routes[0].action);
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.body, "busy");
  EXPECT_EQ(busy.delay, 2min);
  EXPECT_TRUE(std::holds_alternative<EchoAction>(edge.routes[1].action));
  EXPECT_EQ(edge.routes[1].host, "");
  EXPECT_EQ(config->limits.max_head_bytes, 1024u * 1024);
  EXPECT_EQ(config->limits.max_headers, 10000u);
  EXPECT_EQ(config->limits.max_uri_bytes, 64u);
  EXPECT_EQ(config->limits.max_body_bytes, 64ull << 30);
  EXPECT_EQ(config->limits.max_requests_per_connection, 1000u);
  EXPECT_EQ(config->timeouts.header, 1ms);
  EXPECT_EQ(config->timeouts.idle, 24h);
  EXPECT_EQ(config->timeouts.drain, 90s);
  EXPECT_FALSE(config->access_log.enabled);
  EXPECT_EQ(config->access_log.path, "/var/log/plexgate.log");
  EXPECT_EQ(config->access_log.format, AccessLogFormat::Json);
  EXPECT_EQ(config->log_level, LogLevel::Debug);
}

TEST(ConfigLoader, HeadersKeepFileOrder) {
  const ConfigPtr config = load(withRespond(
      "          headers:\n"
      "            X-Zulu: 1\n"
      "            Content-Type: text/plain\n"
      "            X-Alpha: ''\n"
      "            Cache-Control: no-store\n"));
  ASSERT_NE(config, nullptr);
  const auto& respond = std::get<RespondAction>(config->listeners[0].routes[0].action);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"X-Zulu", "1"},
      {"Content-Type", "text/plain"},
      {"X-Alpha", ""},
      {"Cache-Control", "no-store"}};
  EXPECT_EQ(respond.headers, expected);
  EXPECT_EQ(respond.status, 200);
  EXPECT_EQ(respond.body, "");
  EXPECT_EQ(respond.delay, 0ms);
}

// The bytes are made as they are sent (the session's tests check them);
// loading keeps only the size, so `body_size: 1g` costs no memory.
TEST(ConfigLoader, BodySizeKeepsTheSizeNotTheBytes) {
  ConfigPtr config = load(withRespond("          body_size: 3k\n"));
  ASSERT_NE(config, nullptr);
  const auto& action = std::get<RespondAction>(config->listeners[0].routes[0].action);
  EXPECT_EQ(action.body, "");
  EXPECT_EQ(action.body_size, 3072u);
  config = load(withRespond("          body_size: 1g\n"));
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(std::get<RespondAction>(config->listeners[0].routes[0].action).body_size, 1ull << 30);
}

TEST(ConfigLoader, AddressForms) {
  const ConfigPtr config = load(
      "listeners:\n"
      "  - {name: v6, address: '[::1]:8080'}\n"
      "  - {name: v6-full, address: '[2001:db8::7]:65535'}\n"
      "  - {name: local, address: 'localhost:0'}\n");
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->listeners.size(), 3u);
  EXPECT_EQ(config->listeners[0].host, "::1");
  EXPECT_EQ(config->listeners[0].port, 8080);
  EXPECT_EQ(config->listeners[0].address, "[::1]:8080");
  EXPECT_EQ(config->listeners[1].host, "2001:db8::7");
  EXPECT_EQ(config->listeners[1].port, 65535);
  EXPECT_EQ(config->listeners[2].host, "localhost");
  EXPECT_EQ(config->listeners[2].port, 0);
}

TEST(ConfigLoader, NullRoutesAndTrailingEmptyDocumentAreAccepted) {
  const ConfigPtr config = load(std::string(kListener) + "    routes:\n---\n");
  ASSERT_NE(config, nullptr);
  EXPECT_TRUE(config->listeners[0].routes.empty());
}

TEST(ConfigLoader, DefaultUriLimitFollowsSmallerHeadLimit) {
  const ConfigPtr config = load(std::string(kListener) + "limits:\n  max_head_bytes: 4k\n");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->limits.max_head_bytes, 4096u);
  EXPECT_EQ(config->limits.max_uri_bytes, 4096u);
}

TEST(ConfigLoader, UnreadableFile) {
  const LoadResult result = loadFile("/nonexistent/plexgate.yaml");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.config, nullptr);
  EXPECT_EQ(result.error->line, 0);
  EXPECT_EQ(result.error->toString(),
            "/nonexistent/plexgate.yaml: cannot read: No such file or directory");
}

TEST(ConfigLoader, ErrorToStringForms) {
  EXPECT_EQ((ConfigError{"a.yaml", 3, "limits", "bad"}).toString(), "a.yaml:3: limits: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 1, "", "bad"}).toString(), "a.yaml:1: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, "", "bad"}).toString(), "a.yaml: bad");
}

// ---- parseSize / parseDuration ------------------------------------------------

TEST(ParseSize, AcceptsBinaryMultiples) {
  EXPECT_EQ(parseSize("0"), 0u);
  EXPECT_EQ(parseSize("16384"), 16384u);
  EXPECT_EQ(parseSize("16k"), 16384u);
  EXPECT_EQ(parseSize("16K"), 16384u);
  EXPECT_EQ(parseSize("1m"), 1048576u);
  EXPECT_EQ(parseSize("1M"), 1048576u);
  EXPECT_EQ(parseSize("2g"), 2147483648u);
  EXPECT_EQ(parseSize("2G"), 2147483648u);
  EXPECT_EQ(parseSize("007k"), 7168u);
  EXPECT_EQ(parseSize("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parseSize("17179869183g"), 17179869183ull << 30);
}

TEST(ParseSize, RejectsEverythingElse) {
  for (std::string_view bad : {"", "k", "-1", "+1", " 1", "1 ", "1.5k", "1kb", "1KiB", "1t",
                               "0x10", "1_000", "16kk", "abc", "18446744073709551616",
                               "17179869184g", "18014398509481984k", "99999999999999999999999"}) {
    EXPECT_EQ(parseSize(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_EQ(parseDuration("0ms"), 0ms);
  EXPECT_EQ(parseDuration("250ms"), 250ms);
  EXPECT_EQ(parseDuration("10s"), 10s);
  EXPECT_EQ(parseDuration("2m"), 2min);
  EXPECT_EQ(parseDuration("1h"), 1h);
  EXPECT_EQ(parseDuration("9223372036854775807ms"), Millis(INT64_MAX));
  EXPECT_EQ(parseDuration("2562047788015h"), 2562047788015h);
}

TEST(ParseDuration, RejectsBareNumbersAndJunk) {
  for (std::string_view bad : {"", "10", "0", "ms", "s", "-1s", "1.5s", "10 s", "10S", "1d",
                               "1m30s", "10sec", "1us", "9223372036854775808ms",
                               "9223372036854776s", "2562047788016h"}) {
    EXPECT_EQ(parseDuration(bad), std::nullopt) << "'" << bad << "'";
  }
}

// ---- whole-file problems --------------------------------------------------------

TEST(ConfigErrors, EmptyDocument) {
  EXPECT_EQ(errorOf(""),
            "test.yaml:1: the file is empty; expected a mapping with at least 'listeners'");
  EXPECT_EQ(errorOf("# only a comment\n"),
            "test.yaml:1: the file is empty; expected a mapping with at least 'listeners'");
}

TEST(ConfigErrors, TopLevelNotAMapping) {
  EXPECT_EQ(errorOf("- a\n- b\n"),
            "test.yaml:1: expected a mapping at the top level, got a sequence");
  EXPECT_EQ(errorOf("\n\nhello\n"),
            "test.yaml:1: expected a mapping at the top level, got 'hello'");
}

TEST(ConfigErrors, YamlSyntaxErrorReportsItsLine) {
  EXPECT_EQ(errorOf(std::string(kListener) + "limits: {max_headers: 5\n"),
            "test.yaml:5: YAML syntax error: end of map flow not found");
  EXPECT_EQ(errorOf(std::string(kListener) + "limits:\n  max_headers: 1\n   oops: 2\n"),
            "test.yaml:6: YAML syntax error: illegal map value");
  EXPECT_EQ(errorOf("workers: *nowhere\n"),
            "test.yaml:1: YAML syntax error: the referenced anchor is not defined");
}

// yaml-cpp 0.7 alone turns a stray ',' into endless empty documents.
TEST(ConfigErrors, ParserThatStopsAdvancingIsASyntaxError) {
  EXPECT_EQ(errorOf("- ju  -s\n,tlist\n"), "test.yaml:2: YAML syntax error: unexpected ','");
  EXPECT_EQ(errorOf(","), "test.yaml:1: YAML syntax error: unexpected ','");
}

TEST(ConfigErrors, MoreThanOneDocument) {
  EXPECT_EQ(errorOf(std::string(kListener) + "---\nworkers: 2\n"),
            "test.yaml:5: expected a single YAML document, but another one starts here");
}

TEST(ConfigErrors, NonScalarKey) {
  EXPECT_EQ(errorOf(std::string(kListener) + "? [a, b]\n: 1\n"),
            "test.yaml:4: expected a string as key, got a sequence");
}

// ---- keys ---------------------------------------------------------------------

TEST(ConfigErrors, UnknownTopLevelKey) {
  EXPECT_EQ(errorOf(std::string(kListener) + "upstreams: []\n"),
            "test.yaml:4: upstreams: unknown key (expected one of: workers, listeners, clusters, "
            "services, catalogUiTiles, limits, timeouts, access_log, log_level, systems, httpProxies)");
}

TEST(ConfigErrors, UnknownKeyDidYouMean) {
  EXPECT_EQ(errorOf("listners:\n  - name: gw\n"),
            "test.yaml:1: listners: unknown key; did you mean 'listeners'?");
  EXPECT_EQ(errorOf(std::string(kListener) + "Log_Level: info\n"),
            "test.yaml:4: Log_Level: unknown key; did you mean 'log_level'?");
  EXPECT_EQ(errorOf(std::string(kListener) + "timeouts:\n  haeder: 5s\n"),
            "test.yaml:5: timeouts.haeder: unknown key; did you mean 'header'?");
}

TEST(ConfigErrors, UnknownNestedKey) {
  EXPECT_EQ(errorOf(withRoute("        echo: {}\n        methods: [GET]\n")),
            "test.yaml:7: listeners[0].routes[0].methods: unknown key (expected one of: prefix, "
            "host, respond, echo, proxy)");
  EXPECT_EQ(errorOf(withRoute("        prefx: /a\n")),
            "test.yaml:6: listeners[0].routes[0].prefx: unknown key; did you mean 'prefix'?");
  EXPECT_EQ(errorOf(withRespond("          statsu: 200\n")),
            "test.yaml:7: listeners[0].routes[0].respond.statsu: unknown key; did you mean "
            "'status'?");
  EXPECT_EQ(errorOf(std::string(kListener) + "limits:\n  max_connections: 5\n"),
            "test.yaml:5: limits.max_connections: unknown key (expected one of: max_head_bytes, "
            "max_headers, max_uri_bytes, max_body_bytes, max_requests_per_connection)");
  EXPECT_EQ(errorOf(std::string(kListener) + "access_log:\n  file: x.log\n"),
            "test.yaml:5: access_log.file: unknown key (expected one of: enabled, path, format)");
  EXPECT_EQ(errorOf(std::string(kListener) + "    ssl: true\n"),
            "test.yaml:4: listeners[0].ssl: unknown key; did you mean 'tls'?");
  EXPECT_EQ(errorOf(std::string(kListener) + "    colour: blue\n"),
            "test.yaml:4: listeners[0].colour: unknown key (expected one of: name, address, "
            "services, trusted_proxies, tls, routes, fanout, admin)");
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_EQ(errorOf(std::string(kListener) + "workers: 2\nworkers: 4\n"),
            "test.yaml:5: workers: duplicate key (first defined on line 4)");
  EXPECT_EQ(errorOf(withRespond("          status: 201\n          status: 202\n")),
            "test.yaml:8: listeners[0].routes[0].respond.status: duplicate key (first defined on "
            "line 7)");
  EXPECT_EQ(errorOf(withRespond("          headers:\n            X-A: 1\n            X-A: 2\n")),
            "test.yaml:9: listeners[0].routes[0].respond.headers.X-A: duplicate key (first "
            "defined on line 8)");
}

// ---- workers and listeners ------------------------------------------------------

TEST(ConfigErrors, Workers) {
  EXPECT_EQ(errorOf("workers: 0\n" + std::string(kListener)),
            "test.yaml:1: workers: expected 'auto' or an integer from 1 to 1024, got '0'");
  EXPECT_EQ(errorOf("workers: 1025\n" + std::string(kListener)),
            "test.yaml:1: workers: expected 'auto' or an integer from 1 to 1024, got '1025'");
  EXPECT_EQ(errorOf("workers: [2]\n" + std::string(kListener)),
            "test.yaml:1: workers: expected 'auto' or an integer from 1 to 1024, got a sequence");
}

TEST(ConfigErrors, ListenersShape) {
  EXPECT_EQ(errorOf("workers: 2\n"), "test.yaml:1: missing required key 'listeners'");
  EXPECT_EQ(errorOf("listeners: []\n"), "test.yaml:1: listeners: expected at least one listener");
  EXPECT_EQ(errorOf("listeners:\n"),
            "test.yaml:1: listeners: expected a sequence of listeners, got null");
  EXPECT_EQ(errorOf("listeners: {name: gw}\n"),
            "test.yaml:1: listeners: expected a sequence of listeners, got a mapping");
  EXPECT_EQ(errorOf(std::string(kListener) + "  - gw2\n"),
            "test.yaml:4: listeners[1]: expected a mapping, got 'gw2'");
}

TEST(ConfigErrors, ListenerMissingKeys) {
  EXPECT_EQ(errorOf("listeners:\n  - name: gw\n"),
            "test.yaml:2: listeners[0]: missing required key 'address'");
  EXPECT_EQ(errorOf("listeners:\n  - address: 127.0.0.1:80\n"),
            "test.yaml:2: listeners[0]: missing required key 'name'");
}

TEST(ConfigErrors, ListenerName) {
  EXPECT_EQ(errorOf("listeners:\n  - name: Gate Way\n    address: 127.0.0.1:80\n"),
            "test.yaml:2: listeners[0].name: expected a name of lowercase letters, digits, '_' "
            "and '-', got 'Gate Way'");
  EXPECT_EQ(errorOf("listeners:\n  - name: ''\n    address: 127.0.0.1:80\n"),
            "test.yaml:2: listeners[0].name: expected a name of lowercase letters, digits, '_' "
            "and '-', got ''");
  EXPECT_EQ(errorOf(std::string(kListener) + "  - name: gw\n    address: 127.0.0.1:81\n"),
            "test.yaml:4: listeners[1].name: duplicate listener name 'gw' (first used on line 2)");
}

TEST(ConfigErrors, BadAddresses) {
  const auto withAddress = [](std::string_view address) {
    return errorOf("listeners:\n  - name: gw\n    address: " + std::string(address) + "\n");
  };
  const std::string prefix = "test.yaml:3: listeners[0].address: ";
  const std::string like =
      "expected an address like 127.0.0.1:7554, [::1]:7554 or localhost:7554, got ";
  EXPECT_EQ(withAddress("127.0.0.1"), prefix + like + "'127.0.0.1'");
  EXPECT_EQ(withAddress("'127.0.0.1:'"), prefix + like + "'127.0.0.1:'");
  EXPECT_EQ(withAddress("300.1.2.3:80"), prefix + like + "'300.1.2.3:80'");
  EXPECT_EQ(withAddress("example.com:80"), prefix + like + "'example.com:80'");
  EXPECT_EQ(withAddress("'[::g]:80'"), prefix + like + "'[::g]:80'");
  EXPECT_EQ(withAddress("'[::1]80'"), prefix + like + "'[::1]80'");
  EXPECT_EQ(withAddress("127.0.0.1:http"), prefix + like + "'127.0.0.1:http'");
  EXPECT_EQ(withAddress("{host: x}"), prefix + like + "a mapping");
  EXPECT_EQ(withAddress("127.0.0.1:70000"),
            prefix + "expected a port from 0 to 65535, got '70000'");
  EXPECT_EQ(withAddress("'[::1]:65536'"), prefix + "expected a port from 0 to 65535, got '65536'");
  EXPECT_EQ(withAddress("'::1:80'"),
            prefix + "IPv6 addresses need brackets, like [::1]:7554, got '::1:80'");
  // A key with no value points at the key's own line, not the next line.
  EXPECT_EQ(errorOf("listeners:\n  - name: gw\n    address:\n    routes: []\n"),
            prefix + like + "null");
}

// ---- routes ---------------------------------------------------------------------

TEST(ConfigErrors, RoutesShape) {
  EXPECT_EQ(errorOf(std::string(kListener) + "    routes: {prefix: /}\n"),
            "test.yaml:4: listeners[0].routes: expected a sequence of routes, got a mapping");
  EXPECT_EQ(errorOf(std::string(kListener) + "    routes:\n      - echo: {}\n"),
            "test.yaml:5: listeners[0].routes[0]: missing required key 'prefix'");
}

TEST(ConfigErrors, RouteNeedsExactlyOneAction) {
  EXPECT_EQ(errorOf(withRoute("")),
            "test.yaml:5: listeners[0].routes[0]: a route needs exactly one action (respond, echo "
            "or proxy)");
  EXPECT_EQ(errorOf(withRoute("        echo: {}\n        respond: {}\n")),
            "test.yaml:7: listeners[0].routes[0]: a route needs exactly one action (respond, echo "
            "or proxy), got echo and respond");
  EXPECT_EQ(errorOf("clusters: [{name: c, endpoints: ['http://a']}]\n" + withRoute(
                        "        proxy: {cluster: c}\n        echo: {}\n        respond: {}\n")),
            "test.yaml:8: listeners[0].routes[0]: a route needs exactly one action (respond, echo "
            "or proxy), got proxy, echo and respond");
}

TEST(ConfigErrors, RoutePrefix) {
  const std::string like =
      "expected a path starting with '/' and without spaces or control characters, got ";
  EXPECT_EQ(errorOf(std::string(kListener) + "    routes:\n      - {prefix: api, echo: {}}\n"),
            "test.yaml:5: listeners[0].routes[0].prefix: " + like + "'api'");
  EXPECT_EQ(errorOf(std::string(kListener) + "    routes:\n      - {prefix: '/a b', echo: {}}\n"),
            "test.yaml:5: listeners[0].routes[0].prefix: " + like + "'/a b'");
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "    routes:\n      - {prefix: \"/a\\tb\", echo: {}}\n"),
            "test.yaml:5: listeners[0].routes[0].prefix: " + like + "'/a\\tb'");
}

TEST(ConfigErrors, RouteHost) {
  const std::string like = "expected a hostname like example.com or *.example.com, got ";
  EXPECT_EQ(errorOf(withRoute("        host: exa mple.com\n        echo:\n")),
            "test.yaml:6: listeners[0].routes[0].host: " + like + "'exa mple.com'");
  EXPECT_EQ(errorOf(withRoute("        host: '*.'\n        echo:\n")),
            "test.yaml:6: listeners[0].routes[0].host: " + like + "'*.'");
  EXPECT_EQ(errorOf(withRoute("        host: a..b\n        echo:\n")),
            "test.yaml:6: listeners[0].routes[0].host: " + like + "'a..b'");
  EXPECT_EQ(errorOf(withRoute("        host: example.com:80\n        echo:\n")),
            "test.yaml:6: listeners[0].routes[0].host: " + like + "'example.com:80'");
}

TEST(ConfigErrors, EchoTakesNoSettings) {
  EXPECT_EQ(errorOf(withRoute("        echo: {body: true}\n")),
            "test.yaml:6: listeners[0].routes[0].echo.body: unknown key (expected an empty "
            "mapping)");
  EXPECT_EQ(errorOf(withRoute("        echo: yes\n")),
            "test.yaml:6: listeners[0].routes[0].echo: expected an empty mapping {}, got 'yes'");
}

// ---- respond --------------------------------------------------------------------

TEST(ConfigErrors, RespondShape) {
  EXPECT_EQ(errorOf(withRoute("        respond:\n")),
            "test.yaml:6: listeners[0].routes[0].respond: expected a mapping, got null");
}

TEST(ConfigErrors, RespondStatus) {
  const std::string key = "test.yaml:7: listeners[0].routes[0].respond.status: ";
  EXPECT_EQ(errorOf(withRespond("          status: abc\n")),
            key + "expected an integer from 200 to 599, got 'abc'");
  EXPECT_EQ(errorOf(withRespond("          status: 199\n")),
            key + "expected an integer from 200 to 599, got '199'");
  EXPECT_EQ(errorOf(withRespond("          status: 600\n")),
            key + "expected an integer from 200 to 599, got '600'");
  EXPECT_EQ(errorOf(withRespond("          status: -200\n")),
            key + "expected an integer from 200 to 599, got '-200'");
}

TEST(ConfigErrors, RespondBody) {
  EXPECT_EQ(errorOf(withRespond("          body: {text: hi}\n")),
            "test.yaml:7: listeners[0].routes[0].respond.body: expected a string, got a mapping");
  EXPECT_EQ(errorOf(withRespond("          body: hi\n          body_size: 1k\n")),
            "test.yaml:8: listeners[0].routes[0].respond.body_size: set either body or body_size, "
            "not both");
  EXPECT_EQ(errorOf(withRespond("          body_size: 1k\n          body: hi\n")),
            "test.yaml:8: listeners[0].routes[0].respond.body: set either body or body_size, not "
            "both");
  EXPECT_EQ(errorOf(withRespond("          body_size: 2g\n")),
            "test.yaml:7: listeners[0].routes[0].respond.body_size: expected a size from 0 to 1g, "
            "got '2g'");
  EXPECT_EQ(errorOf(withRespond("          body_size: lots\n")),
            "test.yaml:7: listeners[0].routes[0].respond.body_size: expected a size like 512, 16k "
            "or 1m, got 'lots'");
}

TEST(ConfigErrors, RespondDelay) {
  EXPECT_EQ(errorOf(withRespond("          delay: 2h\n")),
            "test.yaml:7: listeners[0].routes[0].respond.delay: expected a duration from 0ms to "
            "1h, got '2h'");
  EXPECT_EQ(errorOf(withRespond("          delay: 5\n")),
            "test.yaml:7: listeners[0].routes[0].respond.delay: expected a duration like 500ms, "
            "10s or 2m, got '5'");
}

TEST(ConfigErrors, RespondHeaders) {
  const std::string path = "listeners[0].routes[0].respond.headers";
  EXPECT_EQ(errorOf(withRespond("          headers:\n            - X-A: 1\n")),
            "test.yaml:8: " + path +
                ": expected a mapping of header names to values, got a sequence");
  EXPECT_EQ(errorOf(withRespond("          headers:\n            Bad Name: 1\n")),
            "test.yaml:8: " + path +
                ".Bad Name: expected a header name of letters, digits and !#$%&'*+-.^_`|~, got "
                "'Bad Name'");
  EXPECT_EQ(errorOf(withRespond("          headers:\n            X-A: {b: 1}\n")),
            "test.yaml:8: " + path + ".X-A: expected a string, got a mapping");
  EXPECT_EQ(errorOf(withRespond("          headers:\n            X-A: \"a\\r\\nX-B: b\"\n")),
            "test.yaml:8: " + path + ".X-A: header values must not contain CR, LF or NUL");
  EXPECT_EQ(errorOf(withRespond("          headers:\n            X-A: \"a\\0b\"\n")),
            "test.yaml:8: " + path + ".X-A: header values must not contain CR, LF or NUL");
}

TEST(ConfigErrors, RespondComputedHeadersAreRefused) {
  const std::string path = "listeners[0].routes[0].respond.headers";
  for (std::string_view name : {"Content-Length", "transfer-encoding", "CONNECTION"}) {
    EXPECT_EQ(errorOf(withRespond("          headers:\n            Content-Type: text/plain\n"
                                  "            " + std::string(name) + ": x\n")),
              "test.yaml:9: " + path + "." + std::string(name) +
                  ": this header cannot be set; plexgate computes it");
  }
}

// ---- limits, timeouts, access_log, log_level ------------------------------------

TEST(ConfigErrors, Limits) {
  const auto withLimit = [](std::string_view line) {
    return errorOf(std::string(kListener) + "limits:\n  " + std::string(line) + "\n");
  };
  EXPECT_EQ(withLimit("max_head_bytes: 512"),
            "test.yaml:5: limits.max_head_bytes: expected a size from 1k to 1m, got '512'");
  EXPECT_EQ(withLimit("max_head_bytes: 2m"),
            "test.yaml:5: limits.max_head_bytes: expected a size from 1k to 1m, got '2m'");
  EXPECT_EQ(withLimit("max_head_bytes: 16 k"),
            "test.yaml:5: limits.max_head_bytes: expected a size like 512, 16k or 1m, got '16 k'");
  EXPECT_EQ(withLimit("max_headers: 0"),
            "test.yaml:5: limits.max_headers: expected an integer from 1 to 10000, got '0'");
  EXPECT_EQ(withLimit("max_headers: 10001"),
            "test.yaml:5: limits.max_headers: expected an integer from 1 to 10000, got '10001'");
  EXPECT_EQ(withLimit("max_headers: 1k"),
            "test.yaml:5: limits.max_headers: expected an integer from 1 to 10000, got '1k'");
  EXPECT_EQ(withLimit("max_uri_bytes: 32"),
            "test.yaml:5: limits.max_uri_bytes: expected a size from 64 to 1m, got '32'");
  EXPECT_EQ(withLimit("max_body_bytes: 65g"),
            "test.yaml:5: limits.max_body_bytes: expected a size from 0 to 64g, got '65g'");
  EXPECT_EQ(withLimit("max_requests_per_connection: -1"),
            "test.yaml:5: limits.max_requests_per_connection: expected an integer from 0 to "
            "4294967295, got '-1'");
  EXPECT_EQ(withLimit("max_requests_per_connection: 4294967296"),
            "test.yaml:5: limits.max_requests_per_connection: expected an integer from 0 to "
            "4294967295, got '4294967296'");
  EXPECT_EQ(errorOf(std::string(kListener) + "limits: 5\n"),
            "test.yaml:4: limits: expected a mapping, got '5'");
}

TEST(ConfigErrors, UriLimitMustFitInHeadLimit) {
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "limits:\n  max_uri_bytes: 8k\n  max_head_bytes: 4k\n"),
            "test.yaml:5: limits.max_uri_bytes: must not exceed max_head_bytes (4k), got '8k'");
}

TEST(ConfigErrors, Timeouts) {
  const auto withTimeout = [](std::string_view line) {
    return errorOf(std::string(kListener) + "timeouts:\n  " + std::string(line) + "\n");
  };
  EXPECT_EQ(withTimeout("header: 10"),
            "test.yaml:5: timeouts.header: expected a duration like 500ms, 10s or 2m, got '10'");
  EXPECT_EQ(withTimeout("idle: 0s"),
            "test.yaml:5: timeouts.idle: expected a duration from 1ms to 24h, got '0s'");
  EXPECT_EQ(withTimeout("drain: 25h"),
            "test.yaml:5: timeouts.drain: expected a duration from 1ms to 24h, got '25h'");
  EXPECT_EQ(withTimeout("drain: [1s]"),
            "test.yaml:5: timeouts.drain: expected a duration like 500ms, 10s or 2m, got a "
            "sequence");
}

TEST(ConfigErrors, AccessLog) {
  const auto withLog = [](std::string_view line) {
    return errorOf(std::string(kListener) + "access_log:\n  " + std::string(line) + "\n");
  };
  EXPECT_EQ(withLog("enabled: maybe"),
            "test.yaml:5: access_log.enabled: expected true or false, got 'maybe'");
  EXPECT_EQ(withLog("path: ''"),
            "test.yaml:5: access_log.path: expected a non-empty string, got ''");
  EXPECT_EQ(withLog("path: [a]"),
            "test.yaml:5: access_log.path: expected a string, got a sequence");
  EXPECT_EQ(withLog("format: xml"),
            "test.yaml:5: access_log.format: expected combined or json, got 'xml'");
}

TEST(ConfigErrors, LogLevel) {
  EXPECT_EQ(errorOf(std::string(kListener) + "log_level: verbose\n"),
            "test.yaml:4: log_level: expected debug, info, warn or error, got 'verbose'");
  EXPECT_EQ(errorOf(std::string(kListener) + "log_level: {a: 1}\n"),
            "test.yaml:4: log_level: expected debug, info, warn or error, got a mapping");
}

TEST(ConfigErrors, LongAndControlValuesAreShownSafely) {
  EXPECT_EQ(errorOf(std::string(kListener) + "log_level: \"" + std::string(100, 'v') + "\"\n"),
            "test.yaml:4: log_level: expected debug, info, warn or error, got '" +
                std::string(57, 'v') + "...'");
  EXPECT_EQ(errorOf(std::string(kListener) + "log_level: \"in\\x01fo\"\n"),
            "test.yaml:4: log_level: expected debug, info, warn or error, got 'in\\x01fo'");
}

}  // namespace
}  // namespace plexgate::config
