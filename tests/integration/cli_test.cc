// The plexgate binary as an operator runs it: --check, the quick respond
// mode, a config file with a JSON access log, and a SIGTERM drain that exits
// cleanly. Ports are chosen by the kernel (":0") and read from the start-up
// line on stderr.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "support/process.h"
#include "support/test_client.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

const std::string kBinary = PLEXGATE_BINARY;
const std::string kSourceDir = PLEXGATE_SOURCE_DIR;

std::string tempPath(const std::string& name) {
  return ::testing::TempDir() + "plexgate_" + std::to_string(::getpid()) + "_" + name;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "plexgate: listener NAME on http://127.0.0.1:PORT (N workers)" -> PORT
uint16_t portFrom(const std::string& line) {
  const size_t colon = line.rfind(':');
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

TEST(CliTest, CheckAcceptsTheExampleConfig) {
  auto [rc, out] = runToExit({kBinary, "--check", kSourceDir + "/examples/plexgate.yaml"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("configuration is valid"), std::string::npos) << out;
}

TEST(CliTest, CheckNamesFileLineAndKeyOfABadValue) {
  const std::string path = tempPath("bad.yaml");
  writeFile(path,
            "listeners:\n"
            "  - name: gateway\n"
            "    address: 127.0.0.1:0\n"
            "    routes:\n"
            "      - prefix: /\n"
            "        respond:\n"
            "          status: abc\n");
  auto [rc, out] = runToExit({kBinary, "--check", path});
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, path + ":7: listeners[0].routes[0].respond.status: expected an integer from 200 to 599, got 'abc'\n");
  std::remove(path.c_str());
}

TEST(CliTest, MissingConfigFileIsAClearError) {
  auto [rc, out] = runToExit({kBinary, "-c", "/nonexistent/plexgate.yaml"});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("/nonexistent/plexgate.yaml"), std::string::npos) << out;
}

TEST(CliTest, UnknownOptionIsAUsageError) {
  auto [rc, out] = runToExit({kBinary, "respond", "--listen", "127.0.0.1:0", "--bogus", "1"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("unknown option --bogus"), std::string::npos) << out;
}

TEST(CliTest, QuickRespondServesAndDrainsOnSigterm) {
  Process p({kBinary, "respond", "--listen", "127.0.0.1:0", "--status", "202", "--body", "quick", "--header",
             "X-Mode: quick", "--workers", "2"});
  const auto line = p.waitStderr("listener respond on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  EXPECT_NE(line->find("(2 workers)"), std::string::npos) << *line;
  TestClient c(portFrom(*line));
  ASSERT_TRUE(c.send(get("/anything")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "quick");
  EXPECT_EQ(r->header("X-Mode"), "quick");
  p.signal(SIGTERM);
  EXPECT_TRUE(c.waitClosed());
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  EXPECT_NE(p.stderrText().find("stopped after 1 requests on 1 connections"), std::string::npos) << p.stderrText();
}

TEST(CliTest, ConfigFileWithJsonAccessLog) {
  const std::string cfg = tempPath("log.yaml");
  const std::string log = tempPath("access.log");
  std::remove(log.c_str());
  writeFile(cfg,
            "workers: 1\n"
            "listeners:\n"
            "  - name: gateway\n"
            "    address: 127.0.0.1:0\n"
            "    routes:\n"
            "      - prefix: /\n"
            "        respond: {status: 200, body: \"ok\"}\n"
            "access_log:\n"
            "  enabled: true\n"
            "  path: " + log + "\n"
            "  format: json\n");
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  {
    TestClient c(portFrom(*line));
    ASSERT_TRUE(c.send("GET /logged?x=\"1\" HTTP/1.1\r\nHost: test\r\nUser-Agent: cli-test\r\n\r\n"));
    ASSERT_TRUE(c.readResponse());
  }
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  const std::string text = readFile(log);
  EXPECT_NE(text.find(R"("method":"GET","target":"/logged?x=\"1\"","protocol":"HTTP/1.1","status":200,"bytes":2,)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("user_agent":"cli-test"})"), std::string::npos) << text;
  std::remove(cfg.c_str());
  std::remove(log.c_str());
}

}  // namespace
}  // namespace plexgate::test
