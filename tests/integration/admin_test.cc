// The admin listener (admin: true): /metrics in Prometheus text format,
// checked against the workers' own counters after real traffic through the
// gateway (local answers, a real upstream, a refused one, an active health
// check taking an endpoint out); /application/health and /application/info;
// and that the pages stay off listeners that did not ask for them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <numeric>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/free_port.h"
#include "support/scripted_upstream.h"
#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

// A scrape: "name{labels}" -> value, and the TYPE of each family. Fails the
// test on any line that is not a comment or a well-formed sample, and on a
// sample whose family has no TYPE line before it.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;

  double at(const std::string& key) const {
    const auto it = samples.find(key);
    EXPECT_NE(it, samples.end()) << "no sample " << key;
    return it == samples.end() ? -1 : it->second;
  }
};

std::string familyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.count(name) != 0) {
    return name;
  }
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.ends_with(s)) {
      const std::string base = name.substr(0, name.size() - s.size());
      if (types.count(base) != 0 && types.at(base) == "histogram") {
        return base;
      }
    }
  }
  return "";
}

Scrape parseExposition(const std::string& text) {
  Scrape out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_EQ(out.types.count(name), 0u) << "family typed twice: " << line;
      out.types[name] = type;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) {
      continue;
    }
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) {
      ADD_FAILURE() << "not a sample: " << line;
      continue;
    }
    const std::string key = line.substr(0, space);
    const std::string name = key.substr(0, key.find('{'));
    for (char ch : name) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == ':') << line;
    }
    if (key.find('{') != std::string::npos) {
      EXPECT_EQ(key.back(), '}') << line;
    }
    EXPECT_NE(familyOf(name, out.types), "") << "sample before its TYPE: " << line;
    size_t used = 0;
    const double v = std::stod(line.substr(space + 1), &used);
    EXPECT_EQ(used, line.size() - space - 1) << line;
    EXPECT_EQ(out.samples.count(key), 0u) << "sample twice: " << line;
    out.samples[key] = v;
  }
  return out;
}

std::optional<Response> get(uint16_t port, const std::string& target, const std::string& method = "GET") {
  TestClient c(port);
  if (!c.send(method + " " + target + " HTTP/1.1\r\nHost: admin.test\r\n\r\n")) {
    return std::nullopt;
  }
  return c.readResponse(milliseconds(5000), method == "HEAD");
}

// How many bytes this client sent that the server has not read yet: the
// server side's rx_queue in the kernel's table (/proc/net/tcp); nullopt when
// the connection is not there.
std::optional<uint64_t> serverUnread(int client_fd) {
  sockaddr_in self{};
  sockaddr_in peer{};
  socklen_t len = sizeof(self);
  if (::getsockname(client_fd, reinterpret_cast<sockaddr*>(&self), &len) != 0) {
    return std::nullopt;
  }
  len = sizeof(peer);
  if (::getpeername(client_fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    return std::nullopt;
  }
  // The server's row: local = the server's port, remote = ours (ports in hex).
  char want_local[8];
  char want_remote[8];
  std::snprintf(want_local, sizeof(want_local), ":%04X", ntohs(peer.sin_port));
  std::snprintf(want_remote, sizeof(want_remote), ":%04X", ntohs(self.sin_port));
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream row(line);
    std::string slot, local, remote, state, queues;
    row >> slot >> local >> remote >> state >> queues;
    if (local.ends_with(want_local) && remote.ends_with(want_remote)) {
      return std::stoull(queues.substr(queues.find(':') + 1), nullptr, 16);
    }
  }
  return std::nullopt;
}

int status(uint16_t port, const std::string& target) {
  const auto r = get(port, target);
  return r ? r->status : -1;
}

std::string adminConfig(const std::string& up_url, uint16_t dead_port) {
  return R"(
workers: 2
listeners:
  - name: gw
    address: 127.0.0.1:0
    routes:
      - prefix: /ok
        respond: {status: 200, body: "ok"}
      - prefix: /up
        proxy: {cluster: live}
      - prefix: /dead
        proxy: {cluster: dead}
  - name: admin
    address: 127.0.0.1:0
    admin: true
clusters:
  - name: live
    endpoints: [")" + up_url + R"("]
  - name: dead
    endpoints: ["http://127.0.0.1:)" + std::to_string(dead_port) + R"("]
    retries: 0
    connect_timeout: 2s
    health_check: {path: /health, interval: 100ms, timeout: 50ms, unhealthy_threshold: 1, healthy_threshold: 1}
)";
}

using AdminTest = ServerTest;

TEST_F(AdminTest, MetricsMatchTheWorkersCountersAfterRealTraffic) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (c.readRequest()) {
      c.sendResponse(200, "from upstream");
    }
  });
  const uint16_t dead = freePort();  // nothing listens there: refused
  start(adminConfig(up.url(), dead));
  const uint16_t gw = server_->port(0);
  const uint16_t admin = server_->port(1);

  // 3 local 200s, 2 404s (no route), 1 proxied 200; the refused upstream
  // (502) before its health check can take it out, or 503 after.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(status(gw, "/ok"), 200);
  }
  ASSERT_EQ(status(gw, "/nope"), 404);
  ASSERT_EQ(status(gw, "/metrics"), 404);  // not an admin listener
  ASSERT_EQ(status(gw, "/up"), 200);
  const int dead_status = status(gw, "/dead");
  ASSERT_TRUE(dead_status == 502 || dead_status == 503) << dead_status;
  ASSERT_TRUE(waitFor([&] { return server_->workers().totals().requests == 7; }, milliseconds(5000)));

  const server::CounterTotals t = server_->workers().totals();  // settled: the scrape adds to it
  const auto r = get(admin, "/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r->header("Cache-Control"), "no-store");
  const Scrape s = parseExposition(r->body);

  EXPECT_EQ(s.types.at("plexgate_requests_total"), "counter");
  EXPECT_EQ(s.types.at("plexgate_request_duration_seconds"), "histogram");
  EXPECT_EQ(s.at("plexgate_workers"), 2);
  // The scrape itself is in flight: counted once it is done, not in itself.
  EXPECT_EQ(s.at("plexgate_requests_total"), 7);
  EXPECT_EQ(s.at("plexgate_responses_total{code=\"2xx\"}"), 4);
  EXPECT_EQ(s.at("plexgate_responses_total{code=\"4xx\"}"), 2);
  EXPECT_EQ(s.at("plexgate_responses_total{code=\"5xx\"}"), 1);
  EXPECT_EQ(s.at("plexgate_responses_total{code=\"1xx\"}"), 0);
  // Every request above on its own connection, then the scrape's.
  EXPECT_EQ(t.connections_accepted, 7u);
  EXPECT_EQ(s.at("plexgate_connections_accepted_total"), 8);

  // The histogram: cumulative, ending in +Inf == _count == the requests.
  double last = 0;
  for (const char* le : {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                         "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    const double v = s.at(std::string("plexgate_request_duration_seconds_bucket{le=\"") + le + "\"}");
    EXPECT_GE(v, last) << le;
    last = v;
  }
  EXPECT_EQ(last, 7);
  EXPECT_EQ(s.at("plexgate_request_duration_seconds_count"), 7);
  EXPECT_GT(s.at("plexgate_request_duration_seconds_sum"), 0);
  EXPECT_NEAR(s.at("plexgate_request_duration_seconds_sum"), static_cast<double>(t.duration_ns) / 1e9, 1e-6);

  // Upstream: the live cluster's one attempt on a new connection; the dead
  // one's refused connect, or no attempt once its health check failed.
  if (dead_status == 502) {
    EXPECT_EQ(s.at("plexgate_upstream_attempts_total"), 2);
    EXPECT_EQ(s.at("plexgate_upstream_connects_total"), 2);
    EXPECT_EQ(s.at("plexgate_upstream_failures_total{reason=\"connect_failed\"}"), 1);
  } else {
    EXPECT_EQ(s.at("plexgate_upstream_attempts_total"), 1);
    EXPECT_EQ(s.at("plexgate_upstream_failures_total{reason=\"no_endpoint\"}"), 1);
  }
  EXPECT_EQ(s.at("plexgate_upstream_retries_total"), 0);
  EXPECT_EQ(s.at("plexgate_upstream_failures_total{reason=\"reset\"}"), 0);
  EXPECT_EQ(s.at("plexgate_upstream_healthy{cluster=\"live\",endpoint=\"" + up.url() + "\"}"), 1);
  EXPECT_EQ(s.at("plexgate_config_reloads_total{result=\"applied\"}"), 0);
  EXPECT_EQ(s.at("plexgate_build_info{version=\"" PLEXGATE_VERSION "\"}"), 1);
  EXPECT_GT(s.at("plexgate_start_time_seconds"), 1.7e9);

  // The active health check takes the refusing endpoint out; the gauge says so.
  const std::string dead_key =
      "plexgate_upstream_healthy{cluster=\"dead\",endpoint=\"http://127.0.0.1:" + std::to_string(dead) + "\"}";
  EXPECT_TRUE(waitFor(
      [&] {
        const auto m = get(admin, "/metrics");
        if (!m) {
          return false;
        }
        const Scrape now = parseExposition(m->body);
        const auto it = now.samples.find(dead_key);
        return it != now.samples.end() && it->second == 0;
      },
      milliseconds(5000)));
}

TEST_F(AdminTest, HealthAndInfoAnswerGetAndHeadOnly) {
  start(R"(
workers: 2
listeners:
  - name: admin
    address: 127.0.0.1:0
    admin: true
    routes:
      - prefix: /
        respond: {status: 200, body: "a route"}
)");
  auto h = get(port(), "/application/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->header("Content-Type"), "application/json");
  EXPECT_EQ(h->body, R"({"status":"UP","components":{"gateway":{"status":"UP"}}})");

  auto head = get(port(), "/application/health?probe=1", "HEAD");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), std::to_string(h->body.size()));
  EXPECT_EQ(head->body, "");

  auto post = get(port(), "/metrics", "POST");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->header("Allow"), "GET, HEAD");
  EXPECT_NE(post->body.find("PGW405E"), std::string::npos) << post->body;

  auto info = get(port(), "/application/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 200);
  EXPECT_NE(info->body.find(R"("version":")" PLEXGATE_VERSION "\""), std::string::npos) << info->body;
  EXPECT_NE(info->body.find(R"("workers":2,)"), std::string::npos) << info->body;
  EXPECT_NE(info->body.find(R"("libuv":")"), std::string::npos) << info->body;

  // Everything else on the listener still goes to its routes.
  auto other = get(port(), "/application/healthz");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->body, "a route");
}

// /admin: the overview page lists the listeners with their bound
// addresses, each cluster's instances with their health, the services, and
// escapes what the configuration says.
TEST_F(AdminTest, OverviewPageShowsInstancesServicesAndHealth) {
  ScriptedUpstream up([](UpstreamConn& c) {
    while (c.readRequest()) {
      c.sendResponse(200, "ok");
    }
  });
  const uint16_t dead = freePort();
  start(adminConfig(up.url(), dead) + R"(
services:
  - serviceId: files
    title: "Files <script>alert(1)</script> & more"
    instanceBaseUrls: [")" + up.url() + R"(/files"]
    routes:
      - gatewayUrl: api/v1
        serviceRelativeUrl: /api/v1
)");
  const uint16_t admin = server_->port(1);
  const std::string dead_row = "<td>dead</td><td>http://127.0.0.1:" + std::to_string(dead) +
                               "</td><td>round_robin</td><td class=\"down\">DOWN</td>";
  std::string page;
  ASSERT_TRUE(waitFor(
      [&] {
        const auto r = get(admin, "/admin");
        page = r ? r->body : "";
        return page.find(dead_row) != std::string::npos;
      },
      milliseconds(5000)))
      << page;
  const auto r = get(admin, "/admin/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("<td>live</td><td>" + up.url() + "</td><td>round_robin</td><td>UP</td>"), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("<td>admin</td><td>http://127.0.0.1:" + std::to_string(admin) + "</td><td>0 routes, admin</td>"),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("<td>files</td><td>Files &lt;script&gt;alert(1)&lt;/script&gt; &amp; more</td>"
                         "<td>/files/api/v1 -&gt; /api/v1</td>"),
            std::string::npos)
      << r->body;
  EXPECT_EQ(r->body.find("<script>"), std::string::npos);
}

// A load balancer polling health on a kept-alive connection learns of the
// drain: the request that was on its way gets 503 DOWN, then the close.
TEST_F(AdminTest, HealthSaysDownWhileDraining) {
  start(R"(
workers: 1
listeners:
  - name: admin
    address: 127.0.0.1:0
    admin: true
)");
  TestClient c(port());
  ASSERT_TRUE(c.send("GET /application/health HTTP/1.1\r\nHost: a\r\n"));
  // Once the worker has read the partial head, the request is in flight
  // and the drain lets it finish.
  ASSERT_TRUE(waitFor([&] { return serverUnread(c.fd()) == 0u; }, milliseconds(5000)));
  server_->drain(milliseconds(5000));
  // The worker closes its listening socket as it starts draining.
  ASSERT_TRUE(waitFor([&] { return !TestClient(port()).connected(); }, milliseconds(5000)));
  ASSERT_TRUE(c.send("\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, R"({"status":"DOWN","components":{"gateway":{"status":"DOWN","details":{"draining":true}}}})");
  EXPECT_FALSE(r->keep_alive);
}


// Requests the connection ended under are counted (and logged), as nginx
// does: 499 when the client left before any response, the response's own
// status when the upstream died in the middle of its body.
TEST_F(AdminTest, RequestsCutShortAreCountedWith499OrTheirStatus) {
  std::atomic<int> calls{0};
  ScriptedUpstream up([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      if (calls.fetch_add(1) == 0) {
        c.waitPeerClosed(milliseconds(5000));  // never answers; the proxy gives up when the client does
        return;
      }
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
      c.reset();  // dies mid-body
      return;
    }
  });
  start(proxyConfig({up.url()}, "    retries: 0\n"));
  {
    TestClient c(port());
    ASSERT_TRUE(c.send("GET /never HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_TRUE(waitFor([&] { return calls.load() == 1; }, milliseconds(5000)));
    // The client gives up with a reset. (A FIN alone is a half-close,
    // whose complete requests are still answered.)
    const linger hard{1, 0};
    ASSERT_EQ(::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)), 0);
  }
  ASSERT_TRUE(waitFor([&] { return server_->workers().totals().requests == 1; }, milliseconds(5000)));
  EXPECT_EQ(server_->workers().totals().responses[3], 1u);  // 4xx: 499

  TestClient c(port());
  ASSERT_TRUE(c.send("GET /cut HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(c.waitClosed(milliseconds(5000)));
  ASSERT_TRUE(waitFor([&] { return server_->workers().totals().requests == 2; }, milliseconds(5000)));
  const server::CounterTotals t = server_->workers().totals();
  EXPECT_EQ(t.responses[1], 1u);  // 2xx: the cut 200
  EXPECT_EQ(t.responses[3], 1u);
  EXPECT_EQ(std::accumulate(t.duration.begin(), t.duration.end(), uint64_t{0}), 2u);
}

}  // namespace
}  // namespace plexgate::test
