// Bad configurations an operator could write that the loader used to accept
// (or report badly), found by probing it as a demanding operator would: two
// listeners on one address, a route that can never match, a quoted string
// left open at the end of the file, bytes that are not UTF-8, YAML merge
// keys, an access log start-up cannot open, and respond headers that would
// frame the answer twice.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <variant>

#include "engine/config/config_loader.h"
#include "config_test_util.h"

namespace plexgate::config {
namespace {

using testutil::errorOf;
using testutil::kListener;
using testutil::load;

std::string twoListeners(const std::string& first, const std::string& second) {
  return "listeners:\n"
         "  - name: a\n"
         "    address: " + first + "\n"
         "  - name: b\n"
         "    address: " + second + "\n";
}

// SO_REUSEPORT lets both bind, and the kernel then splits connections
// between two different route tables.
TEST(ConfigProbeTest, TwoListenersOnOneAddressAreRefused) {
  EXPECT_EQ(errorOf(twoListeners("127.0.0.1:8080", "127.0.0.1:8080")),
            "test.yaml:5: listeners[1].address: address '127.0.0.1:8080' is already used by "
            "listener 'a' (line 3)");
  EXPECT_EQ(errorOf(twoListeners("localhost:8080", "127.0.0.1:8080")),
            "test.yaml:5: listeners[1].address: address '127.0.0.1:8080' is already used by "
            "listener 'a' (line 3)");
  EXPECT_EQ(errorOf(twoListeners("\"[::1]:8080\"", "\"[0:0::1]:8080\"")),
            "test.yaml:5: listeners[1].address: address '[0:0::1]:8080' is already used by "
            "listener 'a' (line 3)");
}

TEST(ConfigProbeTest, ListenersOnDifferentAddressesOrKernelPortsLoad) {
  EXPECT_EQ(errorOf(twoListeners("127.0.0.1:0", "127.0.0.1:0")), "<loaded>");
  EXPECT_EQ(errorOf(twoListeners("127.0.0.1:8080", "127.0.0.1:8081")), "<loaded>");
  EXPECT_EQ(errorOf(twoListeners("0.0.0.0:8080", "127.0.0.1:8080")), "<loaded>");
  EXPECT_EQ(errorOf(twoListeners("\"[::1]:8080\"", "127.0.0.1:8080")), "<loaded>");
}

std::string withRoutes(const std::string& routes) {
  return std::string(kListener) + "    routes:\n" + routes;
}

// The first of two routes with one prefix and host always wins.
TEST(ConfigProbeTest, ARouteThatCanNeverMatchIsRefused) {
  EXPECT_EQ(errorOf(withRoutes("      - prefix: /x\n"
                               "        echo: {}\n"
                               "      - prefix: /x\n"
                               "        respond: {status: 201}\n")),
            "test.yaml:7: listeners[0].routes[1]: duplicate route: prefix '/x' is already routed "
            "on line 5, which would always win");
  EXPECT_EQ(errorOf(withRoutes("      - {prefix: /x, host: A.example.com, echo: {}}\n"
                               "      - {prefix: /x, host: a.EXAMPLE.com, echo: {}}\n")),
            "test.yaml:6: listeners[0].routes[1]: duplicate route: prefix '/x' with host "
            "'a.example.com' is already routed on line 5, which would always win");
}

TEST(ConfigProbeTest, RoutesDifferingInHostOrPrefixLoad) {
  EXPECT_EQ(errorOf(withRoutes("      - {prefix: /x, echo: {}}\n"
                               "      - {prefix: /x, host: a.example.com, echo: {}}\n"
                               "      - {prefix: /x, host: \"*.example.com\", echo: {}}\n"
                               "      - {prefix: /x/, echo: {}}\n")),
            "<loaded>");
}

// yaml-cpp 0.7 quietly ends an unclosed quoted scalar at the end of the
// input: the status line below became part of the body.
TEST(ConfigProbeTest, AQuotedStringLeftOpenAtTheEndIsRefused) {
  const std::string head = withRoutes("      - prefix: /\n"
                                      "        respond:\n");
  EXPECT_EQ(errorOf(head + "          body: \"hello\n"
                           "          status: 500\n"),
            "test.yaml:7: YAML syntax error: the double-quoted string starting on this line is "
            "never closed");
  EXPECT_EQ(errorOf(head + "          body: 'hello\n"),
            "test.yaml:7: YAML syntax error: the single-quoted string starting on this line is "
            "never closed");
  EXPECT_EQ(errorOf(head + "          body: !!str &b \"it ends \\\"here\\\"\n"),
            "test.yaml:7: YAML syntax error: the double-quoted string starting on this line is "
            "never closed");
  EXPECT_EQ(errorOf(head + "          \"body: x\n"),
            "test.yaml:7: YAML syntax error: the double-quoted string starting on this line is "
            "never closed");
}

TEST(ConfigProbeTest, ClosedQuotedStringsWithEscapedQuotesLoad) {
  const std::string head = withRoutes("      - prefix: /\n"
                                      "        respond:\n");
  auto config = load(head + "          body: \"say \\\"hi\\\" \\\\\"\n");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(std::get<RespondAction>(config->listeners[0].routes[0].action).body, "say \"hi\" \\");
  config = load("\xEF\xBB\xBF" + head + "          body: 'it''s'\n          status: 201\n");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(std::get<RespondAction>(config->listeners[0].routes[0].action).body, "it's");
  EXPECT_EQ(std::get<RespondAction>(config->listeners[0].routes[0].action).status, 201);
}

TEST(ConfigProbeTest, BytesThatAreNotUtf8AreRefusedAtTheirLine) {
  EXPECT_EQ(errorOf("listeners:\n  - name: a\xFF\n    address: 127.0.0.1:0\n"),
            "test.yaml:2: the file is not valid UTF-8 (byte 0xFF on this line)");
  // Overlong '/', a UTF-16 surrogate, a sequence cut short.
  EXPECT_EQ(errorOf(std::string(kListener) + "x: \xC0\xAF\n"),
            "test.yaml:4: the file is not valid UTF-8 (byte 0xC0 on this line)");
  EXPECT_EQ(errorOf(std::string(kListener) + "x: \xED\xA0\x80\n"),
            "test.yaml:4: the file is not valid UTF-8 (byte 0xED on this line)");
  EXPECT_EQ(errorOf(std::string(kListener) + "x: \xE2\x82"),
            "test.yaml:4: the file is not valid UTF-8 (byte 0xE2 on this line)");
  EXPECT_EQ(errorOf(std::string("\xFF\xFEl\0", 4)),
            "test.yaml:1: the file is UTF-16 or UTF-32; save it as UTF-8");
}

TEST(ConfigProbeTest, Utf8TextLoads) {
  auto config = load(withRoutes("      - prefix: /\n"
                                "        respond: {body: \"gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80\"}\n"));
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(std::get<RespondAction>(config->listeners[0].routes[0].action).body,
            "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(ConfigProbeTest, AMergeKeyIsNamedAsSuch) {
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "clusters:\n"
                    "  - &c\n"
                    "    name: a\n"
                    "    endpoints: [http://127.0.0.1:9]\n"
                    "  - <<: *c\n"
                    "    name: b\n"),
            "test.yaml:8: clusters[1].<<: YAML merge keys ('<<') are not supported; write the "
            "keys out");
}

// plexgate -c opens the log at start-up; --check must refuse what that would.
TEST(ConfigProbeTest, AnAccessLogStartUpCannotOpenIsRefused) {
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "access_log: {enabled: true, path: /nonexistent-plexgate-dir/access.log}\n"),
            "test.yaml:4: access_log.path: cannot open '/nonexistent-plexgate-dir/access.log' for "
            "appending: No such file or directory");
  EXPECT_EQ(errorOf(std::string(kListener) + "access_log:\n  enabled: true\n  path: /\n"),
            "test.yaml:6: access_log.path: cannot open '/' for appending: Is a directory");
  // Not opened when disabled; a file that would be created is fine.
  EXPECT_EQ(errorOf(std::string(kListener) +
                    "access_log: {enabled: false, path: /nonexistent-plexgate-dir/access.log}\n"),
            "<loaded>");
  const std::string fresh = ::testing::TempDir() + "plexgate_probe_" + std::to_string(::getpid()) + ".log";
  EXPECT_EQ(errorOf(std::string(kListener) + "access_log: {enabled: true, path: " + fresh + "}\n"),
            "<loaded>");
  EXPECT_NE(::access(fresh.c_str(), F_OK), 0) << "checking must not create the file";
}

// Reading /dev/zero as a configuration took memory until the process died.
TEST(ConfigProbeTest, AnEndlessFileIsRefusedNotReadForever) {
  const LoadResult result = loadFile("/dev/zero");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->toString(), "/dev/zero: cannot read: larger than 64m");
}

TEST(ConfigProbeTest, RespondHeaderProblemFollowsTheFileRules) {
  EXPECT_EQ(respondHeaderProblem("X-Mode", "quick"), "");
  EXPECT_EQ(respondHeaderProblem("Content-Length", "3"), "this header cannot be set; plexgate computes it");
  EXPECT_EQ(respondHeaderProblem("transfer-encoding", "chunked"),
            "this header cannot be set; plexgate computes it");
  EXPECT_EQ(respondHeaderProblem("Bad Name", "x"),
            "expected a header name of letters, digits and !#$%&'*+-.^_`|~, got 'Bad Name'");
  EXPECT_EQ(respondHeaderProblem("X-A", "a\r\nSet-Cookie: x"), "header values must not contain CR, LF or NUL");
}


// Services or systems that no listener answers loaded without a word; they
// still load (the catalog will list services), with a warning that says how
// to reach them.
TEST(ConfigProbeTest, ServicesAndSystemsNoListenerServesAreWarnedAbout) {
  const std::string services =
      "services:\n"
      "  - serviceId: sample\n"
      "    instanceBaseUrls: [http://127.0.0.1:9000]\n"
      "    routes: [{gatewayUrl: api, serviceRelativeUrl: /api}]\n";
  const std::string systems =
      "systems:\n"
      "  - name: SY1\n"
      "    url: http://127.0.0.1:9001\n";
  ConfigPtr c = load(std::string(kListener) + services + systems);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_EQ(c->warnings[0], "test.yaml:4: services: no listener serves these services; add 'services: true' to a listener");
  EXPECT_EQ(c->warnings[1],
            "test.yaml:8: systems: no listener answers the fan-out API for these systems; add 'fanout: true' to a "
            "listener");
  c = load(std::string(kListener) + "    services: true\n    fanout: true\n" + services + systems);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->warnings.empty());
}

// The access log's path was taken relative to the working directory, while
// certificates and keys are relative to the configuration file.
TEST(ConfigProbeTest, AccessLogPathIsRelativeToTheConfigurationFile) {
  const std::string dir = ::testing::TempDir() + "plexgate_probe_dir_" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  const LoadResult r = loadString(std::string(kListener) + "access_log: {enabled: true, path: access.log}\n",
                                  dir + "/plexgate.yaml");
  ASSERT_TRUE(r.ok()) << r.error->toString();
  EXPECT_EQ(r.config->access_log.path, dir + "/access.log");
  const LoadResult stdout_log = loadString(std::string(kListener) + "access_log: {enabled: true, path: \"-\"}\n",
                                           dir + "/plexgate.yaml");
  ASSERT_TRUE(stdout_log.ok());
  EXPECT_EQ(stdout_log.config->access_log.path, "-");
  ::rmdir(dir.c_str());
}

TEST(ConfigProbeTest, ListenAddressProblemIsTheFileRule) {
  std::string host;
  uint16_t port = 0;
  EXPECT_EQ(listenAddressProblem("127.0.0.1:8080", host, port), "");
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(listenAddressProblem("[::1]:0", host, port), "");
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(listenAddressProblem(":8080", host, port),
            "expected an address like 127.0.0.1:7554, [::1]:7554 or localhost:7554, got ':8080'");
  EXPECT_EQ(listenAddressProblem("::1:80", host, port), "IPv6 addresses need brackets, like [::1]:7554, got '::1:80'");
  EXPECT_EQ(listenAddressProblem("127.0.0.1:65536", host, port), "expected a port from 0 to 65535, got '65536'");
}

}  // namespace
}  // namespace plexgate::config
