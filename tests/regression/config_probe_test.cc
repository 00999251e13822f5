// The operator's surface, probed as a demanding operator would: quick-mode
// flags that bypassed the file's rules or named the wrong thing, --check
// agreeing with -c, and SIGHUP/SIGTERM doing what they say. Each test failed
// before its fix (see the commit that added it). Ports are chosen by the
// kernel and read from the start-up line on stderr.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <tuple>

#include "support/process.h"
#include "support/test_client.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const std::string kBinary = PLEXGATE_BINARY;

std::string tempPath(const std::string& name) {
  return ::testing::TempDir() + "plexgate_probe_" + std::to_string(::getpid()) + "_" + name;
}

void writeFile(const std::string& path, const std::string& text) {
  // Written beside and renamed over, as an operator's deploy would: a reload
  // never reads half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

// "plexgate: listener NAME on http://127.0.0.1:PORT (N workers)" -> PORT
uint16_t portFrom(const std::string& line) {
  const size_t colon = line.rfind(':');
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

std::string respondConfig(const std::string& body, const std::string& extra) {
  return "workers: 1\n"
         "listeners:\n"
         "  - name: gateway\n"
         "    address: 127.0.0.1:0\n"
         "    routes:\n"
         "      - prefix: /\n"
         "        respond: {status: 200, body: \"" + body + "\"}\n"
         "      - prefix: /slow\n"
         "        respond: {status: 200, body: \"slow\", delay: 5s}\n" +
         extra;
}

// `respond --header 'Content-Length: 3' --body hello` answered with two
// Content-Length fields (3 and 5): a response a cache or proxy in front
// could split into two. The file's respond.headers refuses it.
TEST(ConfigProbeRegressionTest, RespondHeaderFollowsTheFileRules) {
  auto [rc, out] = runToExit({kBinary, "respond", "--listen", "127.0.0.1:0", "--body", "hello", "--header",
                              "Content-Length: 3"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--header 'Content-Length': this header cannot be set; plexgate computes it"),
            std::string::npos)
      << out;
  std::tie(rc, out) =
      runToExit({kBinary, "respond", "--listen", "127.0.0.1:0", "--header", "X-A: a\r\nSet-Cookie: s=1"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("header values must not contain CR, LF or NUL"), std::string::npos) << out;
}

// A last unknown flag was reported as "--bogus needs a value".
TEST(ConfigProbeRegressionTest, AnUnknownLastFlagIsCalledUnknown) {
  auto [rc, out] = runToExit({kBinary, "proxy", "--listen", "127.0.0.1:0", "--to", "http://127.0.0.1:9", "--bogus"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("unknown option --bogus"), std::string::npos) << out;
  std::tie(rc, out) = runToExit({kBinary, "respond", "--listen", "127.0.0.1:0", "--bogus"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("unknown option --bogus"), std::string::npos) << out;
}

// Proxy-mode errors named keys of the document it builds internally
// ("(clusters[0].endpoints[0])"), which the operator never wrote.
TEST(ConfigProbeRegressionTest, ProxyErrorsNameTheFlag) {
  auto [rc, out] = runToExit({kBinary, "proxy", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("plexgate: --to: expected a URL like"), std::string::npos) << out;
  std::tie(rc, out) = runToExit({kBinary, "proxy", "--listen", "example.com:80", "--to", "http://127.0.0.1:9"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("plexgate: --listen: expected an address like"), std::string::npos) << out;
  std::tie(rc, out) =
      runToExit({kBinary, "proxy", "--listen", "127.0.0.1:0", "--to", "http://127.0.0.1:9", "--workers", "0"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("plexgate: --workers: expected 'auto' or an integer from 1 to 1024, got '0'"),
            std::string::npos)
      << out;
  // consistent_hash needs hash_on, which the command line cannot give.
  std::tie(rc, out) = runToExit(
      {kBinary, "proxy", "--listen", "127.0.0.1:0", "--to", "http://127.0.0.1:9", "--lb", "consistent_hash"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--lb: expected round_robin or least_request, got 'consistent_hash'"), std::string::npos)
      << out;
}

// --check said "valid" for an access log -c then could not open.
TEST(ConfigProbeRegressionTest, CheckRefusesAnAccessLogStartUpCannotOpen) {
  const std::string cfg = tempPath("alog.yaml");
  writeFile(cfg, respondConfig("x", "access_log: {enabled: true, path: /nonexistent-plexgate-dir/a.log}\n"));
  auto [check_rc, check_out] = runToExit({kBinary, "--check", cfg});
  EXPECT_EQ(check_rc, 1) << check_out;
  EXPECT_EQ(check_out, cfg + ":10: access_log.path: cannot open '/nonexistent-plexgate-dir/a.log' for appending: "
                             "No such file or directory\n");
  auto [run_rc, run_out] = runToExit({kBinary, "-c", cfg});
  EXPECT_EQ(run_rc, 1) << run_out;
  EXPECT_EQ(run_out, check_out);
  std::remove(cfg.c_str());
}

std::string bodyOf(uint16_t port, const std::string& path) {
  TestClient c(port);
  if (!c.send(get(path))) {
    return "<send failed>";
  }
  auto r = c.readResponse();
  return r ? r->body : "<no response>";
}

// A bad file is refused with its location and the routes stay; a good one
// changes them.
TEST(ConfigProbeRegressionTest, ReloadRefusesABadFileAndAppliesAGoodOne) {
  const std::string cfg = tempPath("hup.yaml");
  writeFile(cfg, respondConfig("one", ""));
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const uint16_t port = portFrom(*line);
  EXPECT_EQ(bodyOf(port, "/"), "one");

  writeFile(cfg, respondConfig("two", "timeout: {idle: 5s}\n"));
  p.signal(SIGHUP);
  const auto refused = p.waitStderr("reload refused", milliseconds(5000));
  ASSERT_TRUE(refused) << p.stderrText();
  EXPECT_NE(refused->find(cfg + ":10: timeout: unknown key; did you mean 'timeouts'?"), std::string::npos)
      << *refused;
  EXPECT_EQ(bodyOf(port, "/"), "one");

  writeFile(cfg, respondConfig("three", ""));
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("reloaded", milliseconds(5000))) << p.stderrText();
  EXPECT_EQ(bodyOf(port, "/"), "three");
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  std::remove(cfg.c_str());
}

// The "listener ... on" lines were printed before SIGHUP was caught, so a
// reload sent on seeing them killed the process about half the time.
TEST(ConfigProbeRegressionTest, SighupRightAfterStartUpReloads) {
  const std::string cfg = tempPath("early.yaml");
  writeFile(cfg, respondConfig("x", ""));
  for (int i = 0; i < 10; ++i) {
    Process p({kBinary, "-c", cfg});
    ASSERT_TRUE(p.waitStderr("listener gateway on http://", milliseconds(5000))) << p.stderrText();
    p.signal(SIGHUP);
    ASSERT_TRUE(p.waitStderr("reloaded", milliseconds(5000))) << "attempt " << i << ": " << p.stderrText();
    p.signal(SIGTERM);
    ASSERT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  }
  std::remove(cfg.c_str());
}

// A reload "applied" a new timeouts.drain, but SIGTERM kept draining for the
// old one: the process waited 5 s for a slow request after drain: 200ms.
TEST(ConfigProbeRegressionTest, ReloadedDrainTimeoutIsTheOneSigtermUses) {
  const std::string cfg = tempPath("drain.yaml");
  writeFile(cfg, respondConfig("x", "timeouts: {drain: 20s}\n"));
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  writeFile(cfg, respondConfig("x", "timeouts: {drain: 200ms}\n"));
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("reloaded", milliseconds(5000))) << p.stderrText();

  TestClient slow(portFrom(*line));
  ASSERT_TRUE(slow.send(get("/slow")));
  ASSERT_FALSE(slow.readMore(milliseconds(100)));  // in flight: the answer is 5 s away
  const auto start = Clock::now();
  p.signal(SIGTERM);
  const auto draining = p.waitStderr("draining", milliseconds(2000));
  ASSERT_TRUE(draining) << p.stderrText();
  EXPECT_NE(draining->find("up to 200 ms"), std::string::npos) << *draining;
  EXPECT_TRUE(p.wait(milliseconds(3000)).has_value()) << p.stderrText();
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
  std::remove(cfg.c_str());
}

// A reload that changed workers said only "reloaded" while it did not take
// effect. (access_log has applied on reload since session 6.)
TEST(ConfigProbeRegressionTest, ReloadSaysWhichChangesNeedARestart) {
  const std::string cfg = tempPath("restart.yaml");
  writeFile(cfg, respondConfig("x", ""));
  Process p({kBinary, "-c", cfg});
  ASSERT_TRUE(p.waitStderr("listener gateway on http://", milliseconds(5000))) << p.stderrText();
  // limits apply on reload: not in the warning.
  std::string next = respondConfig("y", "limits: {max_body_bytes: 1k}\n");
  next.replace(next.find("workers: 1"), 10, "workers: 2");
  writeFile(cfg, next);
  p.signal(SIGHUP);
  const auto warning = p.waitStderr("warning:", milliseconds(5000));
  ASSERT_TRUE(warning) << p.stderrText();
  EXPECT_NE(warning->find("warning: workers changed in " + cfg + "; the running values stay until a restart"),
            std::string::npos)
      << *warning;
  // A second reload compares with what the workers run, not with the first
  // reload's file: workers is still pending. The access log is not: a
  // reload switches it on (here to stdout) at once.
  const uint16_t port = portFrom(*p.waitStderr("listener gateway on http://", milliseconds(100)));
  next = respondConfig("z", "access_log: {enabled: true, path: \"-\"}\n");
  next.replace(next.find("workers: 1"), 10, "workers: 2");
  writeFile(cfg, next);
  p.signal(SIGHUP);
  const auto deadline = Clock::now() + milliseconds(5000);
  std::string body;
  while (body != "z" && Clock::now() < deadline) {
    TestClient c(port);
    ASSERT_TRUE(c.send("GET /before-or-after HTTP/1.1\r\nHost: test\r\n\r\n"));
    const auto r = c.readResponse();
    ASSERT_TRUE(r);
    body = r->body;
  }
  ASSERT_EQ(body, "z") << p.stderrText();
  {
    TestClient c(port);
    ASSERT_TRUE(c.send("GET /logged-after-reload HTTP/1.1\r\nHost: test\r\n\r\n"));
    ASSERT_TRUE(c.readResponse());
  }
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  EXPECT_NE(p.stdoutText().find("\"GET /logged-after-reload HTTP/1.1\" 200"), std::string::npos) << p.stdoutText();
  EXPECT_EQ(p.stderrText().find("access_log changed"), std::string::npos) << p.stderrText();
  std::remove(cfg.c_str());
}

// A second SIGTERM during a drain closes every connection at once: the
// drain deadline moves to now instead of the request in flight running to
// its end (5 s here, up to timeouts.drain in general).
TEST(ConfigProbeRegressionTest, SecondSigtermClosesEverythingAtOnce) {
  const std::string cfg = tempPath("term2.yaml");
  writeFile(cfg, respondConfig("x", "timeouts: {drain: 20s}\n"));
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  TestClient slow(portFrom(*line));
  ASSERT_TRUE(slow.send(get("/slow")));
  ASSERT_FALSE(slow.readMore(milliseconds(100)));
  p.signal(SIGTERM);
  ASSERT_TRUE(p.waitStderr("draining", milliseconds(2000))) << p.stderrText();
  const auto start = Clock::now();
  p.signal(SIGTERM);
  ASSERT_TRUE(p.waitStderr("closing every connection now", milliseconds(2000))) << p.stderrText();
  EXPECT_TRUE(slow.waitClosed(milliseconds(2000)));
  EXPECT_TRUE(p.wait(milliseconds(2000)).has_value()) << p.stderrText();
  EXPECT_LT(Clock::now() - start, milliseconds(2500));
  std::remove(cfg.c_str());
}

// respond --listen took ":8080" (and other spellings) that a file's
// address: and proxy --listen refuse.
TEST(ConfigProbeRegressionTest, RespondListenFollowsTheFileRule) {
  auto [rc, out] = runToExit({kBinary, "respond", "--listen", ":8080"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("plexgate: --listen: expected an address like 127.0.0.1:7554, [::1]:7554 or localhost:7554, "
                     "got ':8080'"),
            std::string::npos)
      << out;
}

// A SIGHUP with nothing to reload, or during a drain, was dropped silently.
TEST(ConfigProbeRegressionTest, AnIgnoredSighupSaysWhy) {
  Process p({kBinary, "respond", "--listen", "127.0.0.1:0", "--workers", "1"});
  ASSERT_TRUE(p.waitStderr("listener respond on http://", milliseconds(5000))) << p.stderrText();
  p.signal(SIGHUP);
  EXPECT_TRUE(p.waitStderr("SIGHUP ignored: no -c file to reload in this mode", milliseconds(5000)))
      << p.stderrText();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
}

// --check and -c print the loader's warnings; --check still says valid.
TEST(ConfigProbeRegressionTest, CheckPrintsWarningsAndStillPasses) {
  const std::string cfg = tempPath("warn.yaml");
  writeFile(cfg, respondConfig("x",
                               "services:\n"
                               "  - serviceId: sample\n"
                               "    instanceBaseUrls: [http://127.0.0.1:9]\n"
                               "    routes: [{gatewayUrl: api, serviceRelativeUrl: /api}]\n"));
  auto [rc, out] = runToExit({kBinary, "--check", cfg});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("plexgate: warning: " + cfg +
                     ":10: services: no listener serves these services; add 'services: true' to a listener"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(cfg + ": configuration is valid"), std::string::npos) << out;
  std::remove(cfg.c_str());
}

// limits and the header/idle/park timeouts used to stay at their start-up
// values whatever a reload said. Now a reload applies them: timeouts at once,
// to connections already waiting too (an idle keep-alive connection armed
// for 60 s closes within the new 300 ms), limits from each connection's next
// Session (a 2 KiB body is refused past the new 1 KiB limit).
TEST(ConfigProbeRegressionTest, ReloadAppliesLimitsAndTimeouts) {
  const std::string cfg = tempPath("live.yaml");
  writeFile(cfg, respondConfig("before", "timeouts: {idle: 60s, header: 60s}\n"));
  Process p({kBinary, "-c", cfg});
  const auto line = p.waitStderr("listener gateway on http://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const uint16_t port = portFrom(*line);
  TestClient idle(port);
  ASSERT_TRUE(idle.send(get("/")));
  auto first = idle.readResponse();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->body, "before");
  writeFile(cfg, respondConfig("after", "timeouts: {idle: 300ms, header: 300ms}\nlimits: {max_body_bytes: 1k}\n"));
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("reloaded", milliseconds(5000))) << p.stderrText();
  EXPECT_TRUE(idle.waitClosed(milliseconds(3000))) << "the idle connection kept its 60 s timeout";
  {
    // Closed before the drain below: after a 413 plexgate lingers until the
    // client closes (or the linger timeout), and the drain waits for that.
    TestClient c(port);
    ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 2048\r\n\r\n" + std::string(2048, 'b')));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_EQ(p.stderrText().find("warning"), std::string::npos) << p.stderrText();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
  std::remove(cfg.c_str());
}

}  // namespace
}  // namespace plexgate::test
