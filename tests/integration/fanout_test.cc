// The multisystem fan-out (/zosmf/gateway/...) against real secondaries on
// 127.0.0.1: ScriptedUpstreams for exact behaviour (JSON, text, 401, 500,
// silence, refusal) and plexgate TestServers with TLS listeners as https
// secondaries (certificates from a TestPki). Every test stops the gateway
// and checks that every worker loop closed with no handle left open.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <sys/socket.h>

#include <array>
#include <cctype>
#include <map>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/config/config_loader.h"
#include "support/scripted_upstream.h"
#include "support/test_certs.h"
#include "support/mailbox.h"
#include "support/test_client.h"
#include "support/test_server.h"
#include "support/tinyproxy_fixture.h"
#include "tls/tls_session.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;


struct SystemDef {
  std::string name;
  std::string url;
  std::string extra;  // more YAML lines for the system, indented 4
};

std::string fanoutConfig(const std::vector<SystemDef>& systems) {
  std::string yaml = R"(
workers: 1
listeners:
  - name: gw
    address: 127.0.0.1:0
    fanout: true
    routes:
      - prefix: /
        respond: {status: 200, body: route}
systems:
)";
  for (const SystemDef& s : systems) {
    yaml += "  - name: " + s.name + "\n    url: " + s.url + "\n" + s.extra;
  }
  return yaml;
}

// A plexgate over TLS with the certificate given and one route for every
// request, whose action is `action` (YAML flow style): an https secondary.
std::unique_ptr<TestServer> tlsServer(const CertFiles& cert, const std::string& action) {
  return std::make_unique<TestServer>(R"(
workers: 1
listeners:
  - name: s
    address: 127.0.0.1:0
    tls: {cert: )" + cert.cert + ", key: " + cert.key + R"(}
    routes:
      - prefix: /
        )" + action + "\n");
}

// An https secondary that answers every request with `body` as JSON.
std::unique_ptr<TestServer> tlsSecondary(const CertFiles& cert, const std::string& body) {
  return tlsServer(cert, "respond: {status: 200, body: '" + body + "', headers: {Content-Type: application/json}}");
}

// The URL-encoded content= for a GET.
std::string contentQuery(const std::string& content) {
  std::string out = "content=";
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : content) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<Response> call(uint16_t port, const std::string& request) {
  TestClient c(port);
  if (!c.send(request)) {
    return std::nullopt;
  }
  return c.readResponse(milliseconds(10000));
}

std::string post(const std::string& target, const std::string& body, const std::string& headers = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + headers + "\r\n" + body;
}

// One systemsOutput entry, as read back.
struct SystemOut {
  std::string system_name;
  std::string rc;
  bool error_null = true;
  std::string msgid;
  std::string msgtxt;
  std::string output_json;  // systemOutput re-serialized (minified)
  bool output_is_string = false;
  std::string output_string;
  // "null" for a JSON null, else the string (checked to be one).
  std::string secondary_api = "absent";
  std::string system_version = "absent";  // "null" or "zosNode/zosVrm/zosSysplex"
};

// A string member as "the text", or "null"; ADD_FAILURE for anything else.
std::string stringOrNull(simdjson::dom::element parent, std::string_view key) {
  simdjson::dom::element e;
  if (parent[key].get(e) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no " << key;
    return "absent";
  }
  if (e.is_null()) {
    return "null";
  }
  std::string_view v;
  if (e.get(v) != simdjson::SUCCESS) {
    ADD_FAILURE() << key << " is neither a string nor null";
    return "not a string";
  }
  return std::string(v);
}

struct Aggregate {
  std::string primary_api_version;
  int64_t num_of_systems = -1;
  std::vector<SystemOut> systems;
};

// Parses the reply and checks its shape; ADD_FAILURE on anything missing.
Aggregate parseAggregate(const std::string& body) {
  Aggregate a;
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "not JSON: " << body;
    return a;
  }
  std::string_view v;
  EXPECT_EQ(doc["primaryAPIVersion"].get(v), simdjson::SUCCESS);
  a.primary_api_version = std::string(v);
  EXPECT_EQ(doc["numOfSystems"].get(a.num_of_systems), simdjson::SUCCESS);
  simdjson::dom::array arr;
  if (doc["systemsOutput"].get(arr) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no systemsOutput array: " << body;
    return a;
  }
  for (simdjson::dom::element e : arr) {
    SystemOut s;
    EXPECT_EQ(e["systemName"].get(v), simdjson::SUCCESS);
    s.system_name = std::string(v);
    EXPECT_EQ(e["rc"].get(v), simdjson::SUCCESS);
    s.rc = std::string(v);
    simdjson::dom::element err;
    EXPECT_EQ(e["error"].get(err), simdjson::SUCCESS);
    s.error_null = err.is_null();
    if (!s.error_null) {
      EXPECT_EQ(err["msgid"].get(v), simdjson::SUCCESS);
      s.msgid = std::string(v);
      EXPECT_EQ(err["msgtxt"].get(v), simdjson::SUCCESS);
      s.msgtxt = std::string(v);
    }
    simdjson::dom::element out;
    EXPECT_EQ(e["systemOutput"].get(out), simdjson::SUCCESS);
    if (out.is_string()) {
      s.output_is_string = true;
      s.output_string = std::string(out.get_string().value());
    } else {
      s.output_json = simdjson::minify(out);
    }
    s.secondary_api = stringOrNull(e, "secondaryApiVersion");
    simdjson::dom::element ver;
    EXPECT_EQ(e["systemVersion"].get(ver), simdjson::SUCCESS);
    if (ver.is_object()) {
      EXPECT_EQ(ver.get_object().size(), 3u);
      s.system_version = stringOrNull(ver, "zosNode") + "/" + stringOrNull(ver, "zosVrm") + "/" +
                         stringOrNull(ver, "zosSysplex");
    } else {
      EXPECT_TRUE(ver.is_null());
      s.system_version = "null";
    }
    a.systems.push_back(std::move(s));
  }
  return a;
}

std::string errorNumber(const std::string& body) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  std::string_view v;
  if (p.parse(body).get(doc) != simdjson::SUCCESS ||
      doc["messages"].at(0)["messageNumber"].get(v) != simdjson::SUCCESS) {
    return "";
  }
  return std::string(v);
}

using FanoutTest = ServerTest;

TEST_F(FanoutTest, ManySystemsEachWithItsOwnOutcome) {
  Mailbox<ReceivedRequest> seen;
  auto jsonSystem = [&](std::string body) {
    return [&seen, body](UpstreamConn& c) {
      while (auto r = c.readRequest()) {
        seen.put(*r);
        c.sendResponse(200, body, {{"Content-Type", "application/json"}});
      }
    };
  };
  ScriptedUpstream ok1(jsonSystem(R"({"name":"ok1","list":[1,2]})"));
  ScriptedUpstream ok2(jsonSystem(R"(  {"name":"ok2"}  )"));
  ScriptedUpstream refused([](UpstreamConn&) {});
  refused.stopAccepting();
  ScriptedUpstream silent([](UpstreamConn& c) {
    c.readRequest();
    c.waitPeerClosed(milliseconds(10000));
  });
  ScriptedUpstream failing([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(500, R"({"message":"boom"})", {{"Content-Type", "application/json"}});
    }
  });
  ScriptedUpstream text([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(200, "plain \"text\"\n");
    }
  });
  TestPki pki;
  auto self_signed = tlsSecondary(pki.selfSigned("self", "127.0.0.1", {"127.0.0.1"}), R"({"tls":"self"})");
  auto trusted = tlsSecondary(pki.issue("trusted", "127.0.0.1", {"127.0.0.1"}), R"({"tls":"ok"})");
  ASSERT_NE(self_signed->port(), 0);
  ASSERT_NE(trusted->port(), 0);
  start(fanoutConfig({
      {"OK1", ok1.url() + "/base",
       "    systemName: SYS1\n    sysplex: PLEX1\n    zosNode: N1\n    zosVrm: 04.27.00\n"
       "    secondaryApiVersion: '1'\n"},
      {"OK2", ok2.url(), ""},
      {"DOWN", refused.url(), ""},
      {"SILENT", silent.url(), ""},
      {"FAIL", failing.url(), ""},
      {"TEXT", text.url(), ""},
      {"SELF", "https://127.0.0.1:" + std::to_string(self_signed->port()), ""},
      {"TLSOK", "https://127.0.0.1:" + std::to_string(trusted->port()),
       "    tls: {ca_file: " + pki.caFile() + "}\n"},
  }));
  const std::string content =
      "{'target':['OK1','OK2','DOWN','SILENT','FAIL','TEXT','SELF','TLSOK'],'resourcePath':'/zosmf/info?x=1',"
      "'timeout':500,'requestProperties':{'X-Extra':'yes'}}";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = call(port(), get("/zosmf/gateway/systems?" + contentQuery(content)));
  // The silent system's 500 ms deadline bounds the whole fan-out.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3000));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  const Aggregate a = parseAggregate(r->body);
  EXPECT_EQ(a.primary_api_version, "1");
  EXPECT_EQ(a.num_of_systems, 8);
  ASSERT_EQ(a.systems.size(), 8u);
  const std::vector<std::string> names = {"OK1", "OK2", "DOWN", "SILENT", "FAIL", "TEXT", "SELF", "TLSOK"};
  const std::vector<std::string> rcs = {"OK",        "OK",   "HttpConnectionFailed", "HttpConnectionTimedOut",
                                        "FailedWithMessage", "OK", "CertificateError",  "OK"};
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(a.systems[i].system_name, names[i]);
    EXPECT_EQ(a.systems[i].rc, rcs[i]) << names[i];
    EXPECT_EQ(a.systems[i].error_null, rcs[i] == "OK") << names[i];
    // Only OK1's definition says which version its secondary speaks.
    EXPECT_EQ(a.systems[i].secondary_api, i == 0 ? "1" : "null") << names[i];
  }
  EXPECT_EQ(a.systems[0].output_json, R"({"name":"ok1","list":[1,2]})");
  EXPECT_EQ(a.systems[0].system_version, "N1/04.27.00/PLEX1");
  EXPECT_EQ(a.systems[1].output_json, R"({"name":"ok2"})");
  EXPECT_EQ(a.systems[1].system_version, "null");  // nothing known about it
  EXPECT_TRUE(a.systems[2].output_is_string);
  EXPECT_EQ(a.systems[2].output_string, "");
  EXPECT_EQ(a.systems[2].msgid, "PGW0601E");
  EXPECT_EQ(a.systems[3].msgid, "PGW0602E");
  EXPECT_EQ(a.systems[3].output_string, "");
  EXPECT_EQ(a.systems[4].output_json, R"({"message":"boom"})");
  EXPECT_EQ(a.systems[4].msgid, "PGW0608E");
  EXPECT_EQ(a.systems[4].msgtxt, "The system answered HTTP 500");
  EXPECT_TRUE(a.systems[5].output_is_string);
  EXPECT_EQ(a.systems[5].output_string, "plain \"text\"\n");
  EXPECT_EQ(a.systems[6].msgid, "PGW0603E");
  EXPECT_EQ(a.systems[7].output_json, R"({"tls":"ok"})");

  // What the secondaries were sent: the base path joined to resourcePath,
  // requestProperties as headers, the secondary's own Host.
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 2u);
  for (const ReceivedRequest& q : reqs) {
    EXPECT_EQ(q.method, "GET");
    EXPECT_TRUE(q.target == "/base/zosmf/info?x=1" || q.target == "/zosmf/info?x=1") << q.target;
    EXPECT_EQ(q.header("X-Extra"), "yes");
    EXPECT_EQ(q.header("X-CSRF-ZOSMF-HEADER"), "true");
    EXPECT_FALSE(q.hasHeader("Authorization"));
    EXPECT_EQ(q.header("Host").rfind("127.0.0.1:", 0), 0u);
  }
  EXPECT_TRUE(self_signed->stop());
  EXPECT_TRUE(trusted->stop());
}

TEST_F(FanoutTest, LoginRequiredUntilLogonThenInvalidLogin) {
  const std::string good = "Basic " + tls::base64Encode("alice:secret");
  Mailbox<std::string> auths;
  ScriptedUpstream guarded([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      auths.put(r->header("Authorization"));
      if (r->header("Authorization") == good) {
        c.sendResponse(200, R"({"user":"alice"})");
      } else {
        c.sendResponse(401, R"({"message":"login"})");
      }
    }
  });
  start(fanoutConfig({{"SEC", guarded.url(), "    systemName: SY9\n"}}));
  const std::string fan = get("/zosmf/gateway/system?" + contentQuery("{'target':'SEC','resourcePath':'/r'}"));
  auto r = call(port(), fan);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  Aggregate a = parseAggregate(r->body);
  ASSERT_EQ(a.systems.size(), 1u);
  EXPECT_EQ(a.systems[0].rc, "LoginRequired");
  EXPECT_EQ(a.systems[0].msgid, "PGW0604E");

  // Logon by z/OS system name; the caller is anonymous (no Authorization).
  r = call(port(), post("/zosmf/gateway/logon", R"({"userid":"alice","password":"secret","systemName":"SY9"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = call(port(), fan);
  ASSERT_TRUE(r);
  a = parseAggregate(r->body);
  ASSERT_EQ(a.systems.size(), 1u);
  EXPECT_EQ(a.systems[0].rc, "OK");
  EXPECT_EQ(a.systems[0].output_json, R"({"user":"alice"})");

  // Another caller (its own Authorization) has no credentials held.
  r = call(port(), get("/zosmf/gateway/system?" + contentQuery("{'target':'SEC','resourcePath':'/r'}"),
                       "Authorization: Bearer bob\r\n"));
  ASSERT_TRUE(r);
  a = parseAggregate(r->body);
  ASSERT_EQ(a.systems.size(), 1u);
  EXPECT_EQ(a.systems[0].rc, "LoginRequired");

  // Wrong credentials held: InvalidLogin.
  r = call(port(), post("/zosmf/gateway/logon", R"({"userid":"alice","password":"wrong","systemName":"SEC"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = call(port(), fan);
  ASSERT_TRUE(r);
  a = parseAggregate(r->body);
  ASSERT_EQ(a.systems.size(), 1u);
  EXPECT_EQ(a.systems[0].rc, "InvalidLogin");
  EXPECT_EQ(a.systems[0].msgid, "PGW0605E");
  EXPECT_EQ(a.systems[0].output_json, R"({"message":"login"})");
  auto seen = auths.all();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], "");
  EXPECT_EQ(seen[1], good);
  EXPECT_EQ(seen[2], "");
  EXPECT_EQ(seen[3], "Basic " + tls::base64Encode("alice:wrong"));
}

TEST_F(FanoutTest, PostAndPutSendTheBodyToEverySystem) {
  Mailbox<ReceivedRequest> seen;
  auto echoLike = [&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(201, R"({"created":true})");
    }
  };
  ScriptedUpstream a(echoLike);
  ScriptedUpstream b(echoLike);
  start(fanoutConfig({{"A", a.url(), ""}, {"B", b.url(), ""}}));
  const std::string q = "?" + contentQuery("{'target':['A','B'],'resourcePath':'/jobs'}");
  auto r = call(port(), post("/zosmf/gateway/systems" + q, R"({"job":"X"})"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  Aggregate agg = parseAggregate(r->body);
  ASSERT_EQ(agg.systems.size(), 2u);
  EXPECT_EQ(agg.systems[0].rc, "OK");
  EXPECT_EQ(agg.systems[1].rc, "OK");
  EXPECT_EQ(agg.systems[1].output_json, R"({"created":true})");
  const std::string put_body = "{\"n\":2}";
  r = call(port(), "PUT /zosmf/gateway/systems" + q + " HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\n"
                   "Content-Length: " + std::to_string(put_body.size()) + "\r\n\r\n" + put_body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 4u);
  size_t posts = 0;
  size_t puts = 0;
  for (const ReceivedRequest& x : reqs) {
    EXPECT_EQ(x.target, "/jobs");
    if (x.method == "POST") {
      ++posts;
      EXPECT_EQ(x.body, R"({"job":"X"})");
      EXPECT_EQ(x.header("Content-Type"), "application/json");
    } else {
      ++puts;
      EXPECT_EQ(x.method, "PUT");
      EXPECT_EQ(x.body, put_body);
      EXPECT_EQ(x.header("Content-Type"), "text/plain");
    }
  }
  EXPECT_EQ(posts, 2u);
  EXPECT_EQ(puts, 2u);
}

TEST_F(FanoutTest, GroupSysplexAndCpcResolveToTheirMembers) {
  ScriptedUpstream up(keepAliveResponder(200, "{}"));
  start(fanoutConfig({
      {"S1", up.url(), "    sysplex: PA\n    cpc: C1\n    groups: [G1, G2]\n"},
      {"S2", up.url(), "    sysplex: PA\n    cpc: C2\n    groups: [G2]\n"},
      {"S3", up.url(), "    sysplex: PB\n    cpc: C2\n"},
  }));
  auto names = [&](const std::string& kind, const std::string& target) {
    auto r = call(port(), get("/zosmf/gateway/" + kind + "?" +
                              contentQuery("{'target':'" + target + "','resourcePath':'/x'}")));
    std::string out;
    if (!r || r->status != 200) {
      return std::string("status ") + std::to_string(r ? r->status : 0);
    }
    for (const SystemOut& s : parseAggregate(r->body).systems) {
      out += s.system_name + (s.rc == "OK" ? "" : "!") + ",";
    }
    return out;
  };
  EXPECT_EQ(names("group", "G1"), "S1,");
  EXPECT_EQ(names("group", "G2"), "S1,S2,");
  EXPECT_EQ(names("sysplex", "PA"), "S1,S2,");
  EXPECT_EQ(names("sysplex", "PB"), "S3,");
  EXPECT_EQ(names("cpc", "C2"), "S2,S3,");
  EXPECT_EQ(names("system", "S3"), "S3,");
  EXPECT_EQ(names("group", "NONE"), "status 404");
  EXPECT_EQ(names("sysplex", "S1"), "status 404");  // a nickname is not a sysplex
}

TEST_F(FanoutTest, BadContentAndUnknownTargets) {
  ScriptedUpstream up(keepAliveResponder(200, "{}"));
  start(fanoutConfig({{"S1", up.url(), ""}, {"S2", up.url(), ""}}));
  struct Case {
    std::string request;
    int status;
  };
  std::string many = "[";
  for (int i = 0; i < 300; ++i) {
    many += (i ? ",'T" : "'T") + std::to_string(i) + "'";
  }
  many += "]";
  const std::vector<Case> cases = {
      {get("/zosmf/gateway/system"), 400},                                       // no content
      {get("/zosmf/gateway/system?content="), 400},                              // empty
      {get("/zosmf/gateway/system?" + contentQuery("{'target':'S1'")), 400},     // not JSON
      {get("/zosmf/gateway/system?" + contentQuery("{'target':'S1'}")), 400},    // no resourcePath
      {get("/zosmf/gateway/system?" + contentQuery("{'resourcePath':'/x'}")), 400},  // no target
      {get("/zosmf/gateway/system?" + contentQuery("{'target':['S1','S2'],'resourcePath':'/x'}")), 400},
      {get("/zosmf/gateway/systems?" + contentQuery("{'target':['S1','S1'],'resourcePath':'/x'}")), 400},
      {get("/zosmf/gateway/systems?" + contentQuery("{'target':" + many + ",'resourcePath':'/x'}")), 400},
      {get("/zosmf/gateway/system?" + contentQuery("{'target':'S1','resourcePath':'/x','timeout':0}")), 400},
      {get("/zosmf/gateway/system?" + contentQuery("{'target':'S1','resourcePath':'/x','timeout':999999999}")),
       400},
      {get("/zosmf/gateway/system?content=%ZZ"), 400},
      {get("/zosmf/gateway/system?" + contentQuery("{'target':'NOPE','resourcePath':'/x'}")), 404},
      {get("/zosmf/gateway/systems?" + contentQuery("{'target':['S1','NOPE'],'resourcePath':'/x'}")), 404},
      {get("/zosmf/gateway/nothing"), 404},
      {get("/zosmf/gateway/logon"), 405},
      {"PATCH /zosmf/gateway/system HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n", 405},
      {post("/zosmf/gateway/logon", "{'userid':'a'}"), 400},
      {post("/zosmf/gateway/logon", "nope"), 400},
      {post("/zosmf/gateway/logon", "{'userid':'a','password':'b','systemName':'NOPE'}"), 404},
      {post("/zosmf/gateway/system", "{'target':'S1'}"), 400},  // content as a body, still checked
  };
  for (const Case& c : cases) {
    auto r = call(port(), c.request);
    ASSERT_TRUE(r) << c.request;
    EXPECT_EQ(r->status, c.status) << c.request << "\n" << r->body;
    EXPECT_EQ(errorNumber(r->body), "PGW" + std::to_string(c.status) + "E") << r->body;
  }
  // Nothing reached a secondary, and the rest of the listener still routes.
  EXPECT_EQ(up.requestsSeen(), 0u);
  auto r = call(port(), get("/zosmf/other"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "route");
}

TEST_F(FanoutTest, KeepAliveConnectionsToSecondariesAreReused) {
  ScriptedUpstream up(keepAliveResponder(200, R"({"n":1})"));
  start(fanoutConfig({{"S1", up.url(), ""}}));
  TestClient c(port());
  const std::string fan = get("/zosmf/gateway/system?" + contentQuery("{'target':'S1','resourcePath':'/x'}"));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(fan));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(parseAggregate(r->body).systems.at(0).rc, "OK");
  }
  EXPECT_EQ(up.requestsSeen(), 3u);
  EXPECT_EQ(up.connectionsAccepted(), 1u);
}

// A secondary that resets each keep-alive connection right after its
// answer: the next fan-out can take that pooled connection just as the reset
// lands, and its write then fails at once. The call used to go on to read
// from the connection it no longer had (a null dereference); it must end as
// a failed system call, or OK on a fresh connection, with every fan-out
// answered.
TEST_F(FanoutTest, PooledConnectionResetAsTheNextCallTakesIt) {
  ScriptedUpstream up([](UpstreamConn& c) {
    if (c.readRequest()) {
      c.sendResponse(200, R"({"n":1})");
      c.reset();
    }
  });
  start(fanoutConfig({{"S1", up.url(), ""}}));
  TestClient c(port());
  const std::string fan = get("/zosmf/gateway/system?" + contentQuery("{'target':'S1','resourcePath':'/x'}"));
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(c.send(fan)) << i;
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200) << i;
    const std::string rc = parseAggregate(r->body).systems.at(0).rc;
    EXPECT_TRUE(rc == "OK" || rc == "HttpConnectionFailed") << i << ": " << rc;
  }
}

TEST_F(FanoutTest, ClientDisconnectCancelsEverySubRequest) {
  Mailbox<bool> closed;
  ScriptedUpstream silent([&](UpstreamConn& c) {
    if (c.readRequest()) {
      closed.put(c.waitPeerClosed(milliseconds(20000)));
    }
  });
  start(fanoutConfig({{"A", silent.url(), ""}, {"B", silent.url(), ""}, {"C", silent.url(), ""}}));
  {
    TestClient c(port());
    ASSERT_TRUE(c.send(get("/zosmf/gateway/systems?" +
                           contentQuery("{'target':['A','B','C'],'resourcePath':'/x','timeout':60000}"))));
    ASSERT_TRUE(silent.waitRequests(3, milliseconds(5000)));
    // Reset, not FIN: a half-closed client may still be waiting for its answer.
    struct linger l = {1, 0};
    ASSERT_EQ(setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
  }
  // Every sub-request's connection is closed long before its 60 s deadline.
  ASSERT_TRUE(waitFor([&] { return closed.all().size() == 3; }, milliseconds(3000)));
  for (bool b : closed.all()) {
    EXPECT_TRUE(b);
  }
  auto r = call(port(), get("/zosmf/other"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// A client that leaves while its calls are mid-tunnel: one waits for a
// proxy's answer to CONNECT, one for the TLS handshake inside tinyproxy's
// tunnel. Both connections are closed at once (and nothing leaks: ASan).
TEST_F(FanoutTest, ClientDisconnectCancelsCallsMidTunnel) {
  if (!TinyproxyFixture::available()) {
    GTEST_SKIP() << "tinyproxy is not installed";
  }
  TinyproxyFixture proxy("pxuser", "pxpass");
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  Mailbox<std::string> connects;
  Mailbox<bool> proxy_closed;
  ScriptedUpstream mute_proxy([&](UpstreamConn& c) {  // reads CONNECT, never answers
    auto head = c.readRawExactly(1, milliseconds(5000));
    std::string text = head.value_or("");
    while (text.find("\r\n\r\n") == std::string::npos) {
      const std::string more = c.readRaw(4096, milliseconds(5000));
      if (more.empty()) {
        break;
      }
      text += more;
    }
    connects.put(text);
    proxy_closed.put(c.waitPeerClosed(milliseconds(20000)));
  });
  Mailbox<bool> hellos;
  Mailbox<bool> origin_closed;
  ScriptedUpstream mute_tls([&](UpstreamConn& c) {  // takes the ClientHello, never answers
    if (!c.readRaw(1, milliseconds(5000)).empty()) {
      hellos.put(true);
      origin_closed.put(c.waitPeerClosed(milliseconds(20000)));
    }
  });
  const std::string https_mute = "https://127.0.0.1:" + std::to_string(mute_tls.port());
  const std::string https_nowhere = "https://127.0.0.1:" + std::to_string(mute_proxy.port());
  start(fanoutConfig({{"HS", https_mute, "    httpProxy: px\n"}, {"CN", https_nowhere, "    httpProxy: mute\n"}}) +
        "httpProxies:\n  - {name: px, host: 127.0.0.1, port: " + std::to_string(proxy.port()) +
        "}\n  - {name: mute, host: 127.0.0.1, port: " + std::to_string(mute_proxy.port()) + "}\n");
  auto r = call(port(), post("/zosmf/gateway/logon/proxy",
                             R"({"proxyUserId":"pxuser","proxyPassword":"pxpass","systemName":"HS"})"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  {
    TestClient c(port());
    ASSERT_TRUE(c.send(get("/zosmf/gateway/systems?" +
                           contentQuery("{'target':['HS','CN'],'resourcePath':'/x','timeout':60000}"))));
    ASSERT_TRUE(waitFor([&] { return connects.all().size() == 1; }, milliseconds(5000)));
    ASSERT_TRUE(waitFor([&] { return hellos.all().size() == 1; }, milliseconds(5000)));  // mid-handshake
    struct linger l = {1, 0};
    ASSERT_EQ(setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
  }
  ASSERT_TRUE(waitFor([&] { return proxy_closed.all().size() == 1 && origin_closed.all().size() == 1; },
                      milliseconds(5000)));
  EXPECT_TRUE(proxy_closed.all()[0]);
  EXPECT_TRUE(origin_closed.all()[0]);
  // The CONNECT as sent: authority-form, its Host, no credentials held for CN.
  const std::string authority = "127.0.0.1:" + std::to_string(mute_proxy.port());
  EXPECT_EQ(connects.all()[0], "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  const server::CounterTotals t = server_->workers().totals();
  EXPECT_EQ(t.fanout_system_calls, 2u);
  uint64_t finished = 0;
  for (const uint64_t n : t.fanout_rc) {
    finished += n;
  }
  EXPECT_EQ(finished, 0u);  // cancelled calls have no rc
}

TEST_F(FanoutTest, HttpProxyNeedsItsOwnLogon) {
  if (!TinyproxyFixture::available()) {
    GTEST_SKIP() << "tinyproxy is not installed";
  }
  TinyproxyFixture proxy("pxuser", "pxpass");
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream behind([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, R"({"via":"proxy"})");
    }
  });
  ScriptedUpstream direct(keepAliveResponder(200, R"({"via":"direct"})"));
  start(fanoutConfig({{"BEHIND", behind.url() + "/b", "    httpProxy: px\n"}, {"DIRECT", direct.url(), ""}}) +
        "httpProxies:\n  - name: px\n    host: 127.0.0.1\n    port: " + std::to_string(proxy.port()) + "\n");
  const std::string fan =
      get("/zosmf/gateway/systems?" + contentQuery("{'target':['BEHIND','DIRECT'],'resourcePath':'/info'}"));
  auto outcome = [&]() {
    auto r = call(port(), fan);
    if (!r || r->status != 200) {
      return std::string("status ") + std::to_string(r ? r->status : 0);
    }
    const Aggregate a = parseAggregate(r->body);
    std::string out;
    for (const SystemOut& s : a.systems) {
      out += s.system_name + ":" + s.rc + ":" + (s.output_is_string ? s.output_string : s.output_json) + " ";
    }
    return out;
  };
  // No proxy credentials: the proxy's 407 is ProxyLoginRequired; the
  // system without a proxy is not affected.
  std::string o = outcome();
  EXPECT_EQ(o.rfind("BEHIND:ProxyLoginRequired:", 0), 0u) << o;
  EXPECT_NE(o.find(R"(DIRECT:OK:{"via":"direct"})"), std::string::npos) << o;
  EXPECT_EQ(seen.all().size(), 0u);

  auto r = call(port(), post("/zosmf/gateway/logon/proxy",
                             R"({"proxyUserId":"pxuser","proxyPassword":"wrong","systemName":"BEHIND"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  o = outcome();
  EXPECT_EQ(o.rfind("BEHIND:InvalidProxyLogin:", 0), 0u) << o;

  r = call(port(), post("/zosmf/gateway/logon/proxy",
                        R"({"proxyUserId":"pxuser","proxyPassword":"pxpass","systemName":"BEHIND"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  o = outcome();
  EXPECT_EQ(o, R"(BEHIND:OK:{"via":"proxy"} DIRECT:OK:{"via":"direct"} )") << proxy.log();
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  // tinyproxy turned the absolute-form request back into origin-form.
  EXPECT_EQ(reqs[0].target, "/b/info");
  EXPECT_EQ(reqs[0].header("Host"), "127.0.0.1:" + std::to_string(behind.port()));
  EXPECT_FALSE(reqs[0].hasHeader("Proxy-Authorization"));
}

// A plexgate over TLS that echoes each request back (head and body): what
// an https secondary behind a tunnel was really sent.
std::unique_ptr<TestServer> tlsEchoSecondary(const CertFiles& cert) { return tlsServer(cert, "echo: {}"); }

TEST_F(FanoutTest, HttpsSystemsBehindAnHttpProxyGoThroughAConnectTunnel) {
  if (!TinyproxyFixture::available()) {
    GTEST_SKIP() << "tinyproxy is not installed";
  }
  TinyproxyFixture proxy("pxuser", "pxpass");
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  TestPki pki;
  auto trusted = tlsSecondary(pki.issue("tun", "127.0.0.1", {"127.0.0.1"}), R"({"via":"tunnel"})");
  auto echo = tlsEchoSecondary(pki.issue("echo", "127.0.0.1", {"127.0.0.1"}));
  auto self_signed = tlsSecondary(pki.selfSigned("self", "127.0.0.1", {"127.0.0.1"}), R"({"tls":"self"})");
  ScriptedUpstream refused([](UpstreamConn&) {});
  refused.stopAccepting();
  ASSERT_NE(trusted->port(), 0);
  ASSERT_NE(echo->port(), 0);
  ASSERT_NE(self_signed->port(), 0);
  const std::string behind = "    httpProxy: px\n    tls: {ca_file: " + pki.caFile() + "}\n";
  start(fanoutConfig({{"TUN", "https://127.0.0.1:" + std::to_string(trusted->port()), behind},
                      {"ECHO", "https://127.0.0.1:" + std::to_string(echo->port()) + "/e", behind},
                      {"SELF", "https://127.0.0.1:" + std::to_string(self_signed->port()), behind},
                      {"GONE", "https://127.0.0.1:" + std::to_string(refused.port()), behind}}) +
        "httpProxies:\n  - name: px\n    host: 127.0.0.1\n    port: " + std::to_string(proxy.port()) + "\n");
  const std::string fan = get("/zosmf/gateway/systems?" +
                              contentQuery("{'target':['TUN','ECHO','SELF','GONE'],'resourcePath':'/zosmf/info',"
                                           "'timeout':5000}"));
  auto fanOut = [&]() {
    auto r = call(port(), fan);
    if (!r || r->status != 200) {
      ADD_FAILURE() << "status " << (r ? r->status : 0);
      return Aggregate{};
    }
    return parseAggregate(r->body);
  };
  auto rcs = [](const Aggregate& a) {
    std::string out;
    for (const SystemOut& s : a.systems) {
      out += s.system_name + ":" + s.rc + " ";
    }
    return out;
  };
  auto logonProxy = [&](const std::string& system, const std::string& password) {
    auto r = call(port(), post("/zosmf/gateway/logon/proxy", R"({"proxyUserId":"pxuser","proxyPassword":")" +
                                                                 password + R"(","systemName":")" + system + "\"}"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  };

  // No proxy credentials: the proxy refuses every CONNECT with 407.
  Aggregate a = fanOut();
  EXPECT_EQ(rcs(a), "TUN:ProxyLoginRequired ECHO:ProxyLoginRequired SELF:ProxyLoginRequired "
                    "GONE:ProxyLoginRequired ");
  EXPECT_EQ(a.systems.at(0).msgid, "PGW0606E");
  EXPECT_EQ(trusted->workers().totals().connections_accepted, 0u);

  // Wrong password for TUN: tinyproxy's 401 on CONNECT is InvalidProxyLogin.
  logonProxy("TUN", "wrong");
  a = fanOut();
  EXPECT_EQ(rcs(a), "TUN:InvalidProxyLogin ECHO:ProxyLoginRequired SELF:ProxyLoginRequired "
                    "GONE:ProxyLoginRequired ");
  EXPECT_EQ(a.systems.at(0).msgid, "PGW0607E");

  for (const char* s : {"TUN", "ECHO", "SELF", "GONE"}) {
    logonProxy(s, "pxpass");
  }
  a = fanOut();
  // TLS through the tunnel is verified against the system's own CA and
  // address: the self-signed one fails; the proxy's 500 for a refused
  // system is a failed connection.
  EXPECT_EQ(rcs(a), "TUN:OK ECHO:OK SELF:CertificateError GONE:HttpConnectionFailed ") << proxy.log();
  ASSERT_EQ(a.systems.size(), 4u);
  EXPECT_EQ(a.systems[0].output_json, R"({"via":"tunnel"})");
  EXPECT_TRUE(a.systems[0].error_null);
  EXPECT_EQ(a.systems[2].msgid, "PGW0603E");
  EXPECT_EQ(a.systems[3].msgid, "PGW0601E");
  EXPECT_EQ(a.systems[3].msgtxt, "The HTTP proxy refused the tunnel with HTTP 500");
  // What the system got inside the tunnel: origin-form, its own Host, no
  // proxy credentials.
  ASSERT_TRUE(a.systems[1].output_is_string);
  const std::string& echoed = a.systems[1].output_string;
  EXPECT_EQ(echoed.rfind("GET /e/zosmf/info HTTP/1.1\r\n", 0), 0u) << echoed.substr(0, 200);
  EXPECT_NE(echoed.find("\r\nHost: 127.0.0.1:" + std::to_string(echo->port()) + "\r\n"), std::string::npos)
      << echoed.substr(0, 400);
  EXPECT_EQ(echoed.find("Proxy-Authorization"), std::string::npos) << echoed.substr(0, 400);

  // Tunnels are not pooled: a second fan-out opens a new one (and the TLS
  // session of the first one resumes).
  a = fanOut();
  EXPECT_EQ(rcs(a), "TUN:OK ECHO:OK SELF:CertificateError GONE:HttpConnectionFailed ");
  EXPECT_TRUE(waitFor([&] { return trusted->workers().totals().connections_accepted == 2; }, milliseconds(3000)));
  EXPECT_EQ(trusted->workers().totals().tls_handshakes, 2u);
  EXPECT_EQ(trusted->workers().totals().tls_resumed, 1u);
  EXPECT_TRUE(trusted->stop());
  EXPECT_TRUE(echo->stop());
  EXPECT_TRUE(self_signed->stop());
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(FanoutTest, HttpSystemsBehindAProxyReachedOverTls) {
  if (!TinyproxyFixture::available() || !TinyproxyFixture::tlsFrontAvailable()) {
    GTEST_SKIP() << "tinyproxy or haproxy is not installed";
  }
  TinyproxyFixture proxy("pxuser", "pxpass");
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  TestPki pki;
  const CertFiles cert = pki.issue("proxy", "127.0.0.1", {"127.0.0.1"});
  ASSERT_TRUE(proxy.startTlsFront(pki.writeFile("proxy.pem", readAll(cert.cert) + readAll(cert.key))))
      << proxy.error();
  Mailbox<ReceivedRequest> seen;
  ScriptedUpstream behind([&](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      seen.put(*r);
      c.sendResponse(200, R"({"via":"tls proxy"})");
    }
  });
  const std::string tls_port = std::to_string(proxy.tlsPort());
  // Two definitions of the same proxy: one trusts its CA, one does not (the
  // system bundle knows nothing of the test CA).
  start(fanoutConfig({{"VIATLS", behind.url() + "/b", "    httpProxy: pxtls\n"},
                      {"UNTRUSTED", behind.url(), "    httpProxy: pxbad\n"}}) +
        "httpProxies:\n"
        "  - {name: pxtls, host: 127.0.0.1, port: " + tls_port + ", tls: true, ca_file: " + pki.caFile() + "}\n"
        "  - {name: pxbad, host: 127.0.0.1, port: " + tls_port + ", tls: true}\n");
  const std::string fan = get("/zosmf/gateway/systems?" +
                              contentQuery("{'target':['VIATLS','UNTRUSTED'],'resourcePath':'/info'}"));
  auto outcome = [&]() {
    auto r = call(port(), fan);
    if (!r || r->status != 200) {
      return std::string("status ") + std::to_string(r ? r->status : 0);
    }
    std::string out;
    for (const SystemOut& s : parseAggregate(r->body).systems) {
      out += s.system_name + ":" + s.rc + (s.rc == "OK" ? ":" + s.output_json : "") + " ";
    }
    return out;
  };
  EXPECT_EQ(outcome(), "VIATLS:ProxyLoginRequired UNTRUSTED:CertificateError ");
  auto r = call(port(), post("/zosmf/gateway/logon/proxy",
                             R"({"proxyUserId":"pxuser","proxyPassword":"pxpass","systemName":"VIATLS"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(outcome(), R"(VIATLS:OK:{"via":"tls proxy"} UNTRUSTED:CertificateError )") << proxy.log();
  auto reqs = seen.all();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/b/info");
  EXPECT_FALSE(reqs[0].hasHeader("Proxy-Authorization"));
}

// The issue's fan-out to 16 systems, each with its own outcome, twice:
// before and after the logons that two of them need. Every field of every
// system object is checked, then the fan-out counters.
TEST_F(FanoutTest, SixteenSystemsEveryFieldAndTheCounters) {
  if (!TinyproxyFixture::available()) {
    GTEST_SKIP() << "tinyproxy is not installed";
  }
  TinyproxyFixture proxy("pxuser", "pxpass");
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  auto json = [](std::string body, int status = 200) {
    return [body, status](UpstreamConn& c) {
      while (auto r = c.readRequest()) {
        c.sendResponse(status, body, {{"Content-Type", "application/json"}});
      }
    };
  };
  ScriptedUpstream ok1(json(R"({"name":"ok1","list":[1,2]})"));
  ScriptedUpstream ok2(json("  {\"name\":\"ok2\"}\r\n"));
  ScriptedUpstream ok3(json("[1,2,3]"));
  ScriptedUpstream ok5(json("42"));
  ScriptedUpstream ok6(json(R"("a JSON string")"));
  ScriptedUpstream refused([](UpstreamConn&) {});
  refused.stopAccepting();
  ScriptedUpstream silent([](UpstreamConn& c) {
    c.readRequest();
    c.waitPeerClosed(milliseconds(10000));
  });
  const std::string good = "Basic " + tls::base64Encode("alice:secret");
  ScriptedUpstream guarded([&good](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      if (r->header("Authorization") == good) {
        c.sendResponse(200, R"({"user":"alice"})");
      } else {
        c.sendResponse(401, R"({"message":"login"})");
      }
    }
  });
  ScriptedUpstream behind(json(R"({"via":"proxy"})"));
  ScriptedUpstream failing(json(R"({"message":"boom"})", 500));
  ScriptedUpstream missing([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(404, "no such resource");
    }
  });
  ScriptedUpstream text([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(200, "plain \"text\"\n");
    }
  });
  ScriptedUpstream empty500([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(500, "");
    }
  });
  TestPki pki;
  auto trusted = tlsSecondary(pki.issue("ok4", "127.0.0.1", {"127.0.0.1"}), R"({"tls":"ok4"})");
  auto tunnelled = tlsSecondary(pki.issue("tun", "127.0.0.1", {"127.0.0.1"}), R"({"tls":"tunnel"})");
  auto self_signed = tlsSecondary(pki.selfSigned("self", "127.0.0.1", {"127.0.0.1"}), R"({"tls":"self"})");
  ASSERT_NE(trusted->port(), 0);
  ASSERT_NE(tunnelled->port(), 0);
  ASSERT_NE(self_signed->port(), 0);
  auto https = [](const std::unique_ptr<TestServer>& s) { return "https://127.0.0.1:" + std::to_string(s->port()); };
  const std::string ca = "    tls: {ca_file: " + pki.caFile() + "}\n";
  start(fanoutConfig({
            {"OK1", ok1.url() + "/base",
             "    systemName: SYS1\n    sysplex: PLEX1\n    zosNode: N1\n    zosVrm: 04.27.00\n"
             "    secondaryApiVersion: '1'\n"},
            {"OK2", ok2.url(), "    sysplex: PLEX1\n"},
            {"OK3", ok3.url(), "    zosVrm: 04.25.00\n"},
            {"OK4", https(trusted), ca},
            {"OK5", ok5.url(), ""},
            {"OK6", ok6.url(), ""},
            {"DOWN", refused.url(), ""},
            {"SILENT", silent.url(), "    timeout: 300ms\n"},
            {"SELF", https(self_signed), ""},
            {"GUARD", guarded.url(), ""},
            {"PROXIED", behind.url(), "    httpProxy: px\n"},
            {"TUNNEL", https(tunnelled), "    httpProxy: px\n" + ca},
            {"FAIL", failing.url(), ""},
            {"MISSING", missing.url(), ""},
            {"TEXT", text.url(), ""},
            {"EMPTY500", empty500.url(), ""},
        }) +
        "httpProxies:\n  - name: px\n    host: 127.0.0.1\n    port: " + std::to_string(proxy.port()) + "\n");
  // The reply follows the order of `target`, not the file's.
  const std::vector<std::string> order = {"TEXT", "OK1",   "DOWN",    "OK2",    "SILENT", "OK3",
                                          "SELF", "OK4",   "GUARD",   "OK5",    "PROXIED", "OK6",
                                          "TUNNEL", "FAIL", "MISSING", "EMPTY500"};
  std::string targets;
  for (const std::string& n : order) {
    targets += (targets.empty() ? "'" : ",'") + n + "'";
  }
  const std::string fan =
      get("/zosmf/gateway/systems?" + contentQuery("{'target':[" + targets + "],'resourcePath':'/zosmf/info'}"));

  struct Expect {
    std::string rc;
    std::string msgid;   // "" when error is null
    std::string msgtxt;
    std::string output;  // JSON (minified) or, with is_string, the string
    bool is_string;
    std::string secondary_api = "null";
    std::string system_version = "null";
  };
  const std::string kFailed = "The connection to the system failed";
  std::map<std::string, Expect> expect = {
      {"OK1", {"OK", "", "", R"({"name":"ok1","list":[1,2]})", false, "1", "N1/04.27.00/PLEX1"}},
      {"OK2", {"OK", "", "", R"({"name":"ok2"})", false, "null", "null/null/PLEX1"}},
      {"OK3", {"OK", "", "", "[1,2,3]", false, "null", "null/04.25.00/null"}},
      {"OK4", {"OK", "", "", R"({"tls":"ok4"})", false}},
      {"OK5", {"OK", "", "", "42", false}},
      {"OK6", {"OK", "", "", "a JSON string", true}},
      {"DOWN", {"HttpConnectionFailed", "PGW0601E", kFailed, "", true}},
      {"SILENT", {"HttpConnectionTimedOut", "PGW0602E", "The system did not answer in time", "", true}},
      {"SELF", {"CertificateError", "PGW0603E", "The system's TLS certificate is not trusted", "", true}},
      {"GUARD",
       {"LoginRequired", "PGW0604E", "The system requires a login: POST /zosmf/gateway/logon",
        R"({"message":"login"})", false}},
      {"PROXIED", {"ProxyLoginRequired", "PGW0606E", "The HTTP proxy requires a login", "", true}},
      {"TUNNEL", {"ProxyLoginRequired", "PGW0606E", "The HTTP proxy requires a login", "", true}},
      {"FAIL", {"FailedWithMessage", "PGW0608E", "The system answered HTTP 500", R"({"message":"boom"})", false}},
      {"MISSING", {"FailedWithMessage", "PGW0608E", "The system answered HTTP 404", "no such resource", true}},
      {"TEXT", {"OK", "", "", "plain \"text\"\n", true}},
      {"EMPTY500", {"UnexpectedFailure", "PGW0609E", "The system answered HTTP 500", "", true}},
  };
  auto check = [&](const std::string& phase) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(port(), fan);
    // SILENT's own 300 ms deadline bounds the fan-out; the rest keep 30 s.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(5000)) << phase;
    ASSERT_TRUE(r) << phase;
    ASSERT_EQ(r->status, 200) << phase;
    EXPECT_EQ(r->header("Content-Type"), "application/json");
    const Aggregate a = parseAggregate(r->body);
    EXPECT_EQ(a.primary_api_version, "1");
    EXPECT_EQ(a.num_of_systems, 16);
    ASSERT_EQ(a.systems.size(), 16u) << phase;
    for (size_t i = 0; i < order.size(); ++i) {
      const SystemOut& got = a.systems[i];
      const Expect& want = expect.at(order[i]);
      const std::string where = phase + " " + order[i];
      EXPECT_EQ(got.system_name, order[i]) << where;
      EXPECT_EQ(got.rc, want.rc) << where;
      EXPECT_EQ(got.error_null, want.msgid.empty()) << where;
      EXPECT_EQ(got.msgid, want.msgid) << where;
      EXPECT_EQ(got.msgtxt, want.msgtxt) << where;
      EXPECT_EQ(got.output_is_string, want.is_string) << where;
      if (want.rc == "ProxyLoginRequired") {
        // The proxy's own HTML page, as a string.
        EXPECT_NE(got.output_string.find("tinyproxy"), std::string::npos) << where;
      } else {
        EXPECT_EQ(want.is_string ? got.output_string : got.output_json, want.output) << where;
      }
      EXPECT_EQ(got.secondary_api, want.secondary_api) << where;
      EXPECT_EQ(got.system_version, want.system_version) << where;
    }
  };
  check("before logon");

  // Neither a logon nor a refused fan-out counts as a fan-out.
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"logon", R"({"userid":"alice","password":"secret","systemName":"GUARD"})"},
           {"logon/proxy", R"({"proxyUserId":"pxuser","proxyPassword":"pxpass","systemName":"PROXIED"})"},
           {"logon/proxy", R"({"proxyUserId":"pxuser","proxyPassword":"pxpass","systemName":"TUNNEL"})"}}) {
    auto r = call(port(), post("/zosmf/gateway/" + path, body));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  auto r = call(port(), get("/zosmf/gateway/system?" + contentQuery("{'target':'NOPE','resourcePath':'/x'}")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);

  expect["GUARD"] = {"OK", "", "", R"({"user":"alice"})", false};
  expect["PROXIED"] = {"OK", "", "", R"({"via":"proxy"})", false};
  expect["TUNNEL"] = {"OK", "", "", R"({"tls":"tunnel"})", false};
  check("after logon");

  // Two fan-outs of 16: OK 7 + 10, and the failures twice each except the
  // logins, which only the first saw.
  using parsers::FanoutRc;
  std::array<uint64_t, parsers::kFanoutRcKinds> want_rc{};
  want_rc[static_cast<size_t>(FanoutRc::Ok)] = 17;
  want_rc[static_cast<size_t>(FanoutRc::HttpConnectionFailed)] = 2;
  want_rc[static_cast<size_t>(FanoutRc::HttpConnectionTimedOut)] = 2;
  want_rc[static_cast<size_t>(FanoutRc::CertificateError)] = 2;
  want_rc[static_cast<size_t>(FanoutRc::LoginRequired)] = 1;
  want_rc[static_cast<size_t>(FanoutRc::ProxyLoginRequired)] = 2;
  want_rc[static_cast<size_t>(FanoutRc::FailedWithMessage)] = 4;
  want_rc[static_cast<size_t>(FanoutRc::UnexpectedFailure)] = 2;
  // The worker counts before it answers; wait rather than assume the
  // relaxed stores are visible at once.
  EXPECT_TRUE(waitFor([&] { return server_->workers().totals().fanout_rc == want_rc; }, milliseconds(2000)));
  const server::CounterTotals t = server_->workers().totals();
  EXPECT_EQ(t.fanout_requests, 2u);
  EXPECT_EQ(t.fanout_system_calls, 32u);
  for (size_t i = 0; i < want_rc.size(); ++i) {
    EXPECT_EQ(t.fanout_rc[i], want_rc[i]) << parsers::fanoutRcName(static_cast<FanoutRc>(i));
  }
  EXPECT_TRUE(trusted->stop());
  EXPECT_TRUE(tunnelled->stop());
  EXPECT_TRUE(self_signed->stop());
}

TEST(FanoutExampleTest, ExampleConfigLoads) {
  const config::LoadResult r = config::loadFile(std::string(PLEXGATE_SOURCE_DIR) + "/examples/fanout.yaml");
  ASSERT_TRUE(r.ok()) << r.error->toString();
  EXPECT_TRUE(r.config->listeners[0].fanout);
  EXPECT_EQ(r.config->systems.size(), 2u);
  EXPECT_EQ(r.config->systems[1].http_proxy, "corp-proxy");
  EXPECT_EQ(r.config->systems[0].zos_vrm, "04.27.00");
  EXPECT_EQ(r.config->systems[0].secondary_api_version, "1");
}

TEST_F(FanoutTest, BrokenAnswersAreUnexpectedFailures) {
  ScriptedUpstream cut([](UpstreamConn& c) {
    if (c.readRequest()) {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"par");
      c.reset();
    }
  });
  ScriptedUpstream empty500([](UpstreamConn& c) {
    while (auto r = c.readRequest()) {
      c.sendResponse(500, "");
    }
  });
  ScriptedUpstream garbage([](UpstreamConn& c) {
    if (c.readRequest()) {
      c.send("NOT HTTP AT ALL\r\n\r\n");
    }
  });
  ScriptedUpstream fine(keepAliveResponder(200, "[1,2,3]"));
  start(fanoutConfig({{"CUT", cut.url(), ""}, {"E500", empty500.url(), ""}, {"BAD", garbage.url(), ""},
                      {"FINE", fine.url(), ""}}));
  auto r = call(port(), get("/zosmf/gateway/systems?" +
                            contentQuery("{'target':['CUT','E500','BAD','FINE'],'resourcePath':'/x'}")));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const Aggregate a = parseAggregate(r->body);
  ASSERT_EQ(a.systems.size(), 4u);
  EXPECT_EQ(a.num_of_systems, 4);
  EXPECT_EQ(a.systems[0].rc, "UnexpectedFailure");
  EXPECT_EQ(a.systems[0].msgid, "PGW0609E");
  EXPECT_EQ(a.systems[1].rc, "UnexpectedFailure");
  EXPECT_EQ(a.systems[1].msgtxt, "The system answered HTTP 500");
  EXPECT_EQ(a.systems[2].rc, "UnexpectedFailure");
  EXPECT_EQ(a.systems[2].msgtxt, "The system sent an invalid HTTP response");
  EXPECT_EQ(a.systems[3].rc, "OK");
  EXPECT_EQ(a.systems[3].output_json, "[1,2,3]");
}

}  // namespace
}  // namespace plexgate::test
