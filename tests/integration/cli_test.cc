// The plexgate binary as an operator runs it: --check, the quick respond
// mode, a config file with a JSON access log, and a SIGTERM drain that exits
// cleanly. Ports are chosen by the kernel (":0") and read from the start-up
// line on stderr.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <optional>
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

// Waits (bounded) until `done()` holds, looking again whenever a file in
// `path`'s directory is created, written or moved in (inotify), so no sleep.
template <class Done>
bool waitFileEvent(const std::string& path, Done done, milliseconds timeout) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return done();
  }
  const std::string dir = path.substr(0, path.rfind('/') + 1);
  ::inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_MODIFY | IN_MOVED_TO | IN_CLOSE_WRITE);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ok = false;
  for (;;) {
    if ((ok = done())) {
      break;  // checked after the watch was added: no event is missed
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd pf{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pf, 1, static_cast<int>(left.count())) <= 0) {
      ok = done();
      break;
    }
    char events[4096];
    while (::read(fd, events, sizeof(events)) > 0) {
    }
  }
  ::close(fd);
  return ok;
}

// The access log is written by its own thread, about every 100 ms.
bool waitFileHolds(const std::string& path, const std::string& needle, milliseconds timeout) {
  return waitFileEvent(path, [&] { return readFile(path).find(needle) != std::string::npos; }, timeout);
}

std::string respondWithLog(const std::string& log, const std::string& extra = "") {
  return "workers: 1\n"
         "listeners:\n"
         "  - name: gateway\n"
         "    address: 127.0.0.1:0\n"
         "    routes:\n"
         "      - prefix: /\n"
         "        respond: {status: 200, body: \"ok\"}\n"
         "access_log: {enabled: true, path: " + log + "}\n" + extra;
}

// The body of GET `path`, or "" without an answer.
std::string getBody(uint16_t port, const std::string& path) {
  TestClient c(port);
  EXPECT_TRUE(c.send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n"));
  const auto r = c.readResponse();
  return r ? r->body : std::string();
}

// GETs `path` until its body is `want` (a reload has applied), for up to
// 5 s; returns the last body seen.
std::string pollBody(uint16_t port, const std::string& path, const std::string& want) {
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
  std::string body = getBody(port, path);
  while (body != want && std::chrono::steady_clock::now() < deadline) {
    body = getBody(port, path);
  }
  return body;
}

int getStatus(uint16_t port, const std::string& path) {
  TestClient c(port);
  if (!c.send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n")) {
    return 0;
  }
  const auto r = c.readResponse();
  return r ? r->status : 0;
}

// Log rotation as logrotate does it for nginx: move the file, send SIGUSR1;
// what was logged before stays in the moved file, what comes after goes to a
// new file under the configured name.
TEST(CliTest, SigusrOneReopensTheAccessLog) {
  const std::string cfg = tempPath("rotate.yaml");
  const std::string log = tempPath("rotate.log");
  const std::string moved = log + ".1";
  std::remove(log.c_str());
  std::remove(moved.c_str());
  writeFile(cfg, respondWithLog(log));
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const uint16_t port = portFrom(*line);
  ASSERT_EQ(getStatus(port, "/before"), 200);
  ASSERT_TRUE(waitFileHolds(log, "/before", milliseconds(5000))) << readFile(log);
  ASSERT_EQ(std::rename(log.c_str(), moved.c_str()), 0);
  p.signal(SIGUSR1);
  ASSERT_TRUE(p.waitStderr("SIGUSR1: reopening the access log", milliseconds(5000))) << p.stderrText();
  // The writer opens the new file on its next turn (at most ~100 ms).
  ASSERT_TRUE(waitFileEvent(log, [&] { return ::access(log.c_str(), F_OK) == 0; }, milliseconds(5000)))
      << "no new file after SIGUSR1";
  ASSERT_EQ(getStatus(port, "/after"), 200);
  EXPECT_TRUE(waitFileHolds(log, "/after", milliseconds(5000))) << readFile(log);
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  EXPECT_EQ(readFile(log).find("/before"), std::string::npos);
  EXPECT_NE(readFile(moved).find("/before"), std::string::npos);
  EXPECT_EQ(readFile(moved).find("/after"), std::string::npos);
  for (const std::string& f : {cfg, log, moved}) {
    std::remove(f.c_str());
  }
}

// log_level filters plexgate's own lines, and a reload changes it at once:
// after a reload to `error`, neither "reloaded" nor a warning appears, but a
// refused reload (an error) still does.
TEST(CliTest, LogLevelFiltersOwnLinesAndReloads) {
  const std::string cfg = tempPath("level.yaml");
  const std::string log = tempPath("level.log");
  writeFile(cfg, respondWithLog(log));
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const uint16_t port = portFrom(*line);
  // A new body shows when the reload applied; workers: 2 would warn at info
  // ("... stay until a restart").
  std::string quiet = respondWithLog(log, "log_level: error\n");
  quiet.replace(quiet.find("workers: 1"), 10, "workers: 2");
  quiet.replace(quiet.find("body: \"ok\""), 10, "body: \"quiet\"");
  writeFile(cfg, quiet);
  p.signal(SIGHUP);
  ASSERT_EQ(pollBody(port, "/", "quiet"), "quiet") << p.stderrText();
  writeFile(cfg, "listeners: 7\n");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("reload refused", milliseconds(5000))) << p.stderrText();
  EXPECT_EQ(p.stderrText().find("reloaded"), std::string::npos) << p.stderrText();
  EXPECT_EQ(p.stderrText().find("warning"), std::string::npos) << p.stderrText();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  std::remove(cfg.c_str());
  std::remove(log.c_str());
}


// /metrics counts the reloads main applied and refused (a file that does
// not load, a listener change the workers cannot take).
TEST(CliTest, MetricsCountAppliedAndRefusedReloads) {
  const std::string cfg = tempPath("reloads.yaml");
  const std::string admin_only =
      "workers: 1\n"
      "listeners:\n"
      "  - name: admin\n"
      "    address: 127.0.0.1:0\n"
      "    admin: true\n";
  writeFile(cfg, admin_only);
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener admin on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const uint16_t port = portFrom(*line);
  const auto scrape = [&] { return getBody(port, "/metrics"); };
  EXPECT_NE(scrape().find("plexgate_config_reloads_total{result=\"applied\"} 0\n"), std::string::npos);
  writeFile(cfg, admin_only + "log_level: info\n");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("reloaded", milliseconds(5000))) << p.stderrText();
  writeFile(cfg, "listeners: 7\n");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("reload refused", milliseconds(5000))) << p.stderrText();
  const std::string moved = admin_only;
  writeFile(cfg, std::string(moved).replace(moved.find("127.0.0.1:0"), 11, "127.0.0.1:1"));
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("changed its name or address", milliseconds(5000))) << p.stderrText();
  const std::string body = scrape();
  EXPECT_NE(body.find("plexgate_config_reloads_total{result=\"applied\"} 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("plexgate_config_reloads_total{result=\"refused\"} 2\n"), std::string::npos) << body;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  std::remove(cfg.c_str());
}


// access_log applies on reload: switched on, to another file, in another
// format, and off again. Each reload changes the respond body, so the test
// knows when it applied; every line lands in the file that was configured
// when its request was served.
TEST(CliTest, AccessLogFollowsReloads) {
  const std::string cfg = tempPath("logreload.yaml");
  const std::string a = tempPath("logreload_a.log");
  const std::string b = tempPath("logreload_b.log");
  std::remove(a.c_str());
  std::remove(b.c_str());
  const auto config = [](const std::string& body, const std::string& log) {
    return "workers: 1\n"
           "listeners:\n"
           "  - name: gateway\n"
           "    address: 127.0.0.1:0\n"
           "    routes:\n"
           "      - prefix: /\n"
           "        respond: {status: 200, body: \"" + body + "\"}\n"
           "access_log: " + log + "\n";
  };
  writeFile(cfg, config("off", "{enabled: false, path: " + a + "}"));
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const uint16_t port = portFrom(*line);
  const auto reloadTo = [&](const std::string& body, const std::string& log) {
    writeFile(cfg, config(body, log));
    p.signal(SIGHUP);
    pollBody(port, "/probe-" + body, body);
  };
  ASSERT_EQ(getBody(port, "/while-off-1"), "off");
  reloadTo("json-a", "{enabled: true, path: " + a + ", format: json}");
  ASSERT_EQ(getBody(port, "/in-a"), "json-a") << p.stderrText();
  reloadTo("combined-b", "{enabled: true, path: " + b + ", format: combined}");
  ASSERT_EQ(getBody(port, "/in-b"), "combined-b") << p.stderrText();
  reloadTo("off-again", "{enabled: false, path: " + b + "}");
  ASSERT_EQ(getBody(port, "/while-off-2"), "off-again") << p.stderrText();
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  const std::string in_a = readFile(a);
  const std::string in_b = readFile(b);
  EXPECT_EQ(in_a.rfind("{\"time\":", 0), 0u) << in_a;  // JSON lines
  EXPECT_NE(in_a.find("\"/in-a\""), std::string::npos) << in_a;
  EXPECT_EQ(in_a.find("/while-off-1"), std::string::npos) << in_a;
  EXPECT_EQ(in_a.find("/in-b"), std::string::npos) << in_a;
  EXPECT_NE(in_b.find("\"GET /in-b HTTP/1.1\" 200"), std::string::npos) << in_b;  // combined
  EXPECT_EQ(in_b.find("/in-a"), std::string::npos) << in_b;
  EXPECT_EQ(in_b.find("/while-off-2"), std::string::npos) << in_b;
  EXPECT_EQ(p.stderrText().find("access_log changed"), std::string::npos) << p.stderrText();
  for (const std::string& f : {cfg, a, b}) {
    std::remove(f.c_str());
  }
}

}  // namespace
}  // namespace plexgate::test
