// TLS end to end with real clients: curl and openssl s_client against TLS
// listeners (SNI, resumption, old protocols refused, client certificates,
// plain HTTP and slow handshakes), big bodies both ways through the
// transform, and plexgate's own upstream client against TLS origins (good
// certificate, self-signed, wrong name, verification off, mutual TLS,
// resumption). Certificates are generated at test time (TestPki).
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/test_certs.h"
#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

using std::chrono::milliseconds;

std::string tlsListener(const std::string& tls_yaml, const std::string& routes) {
  return "workers: 1\nlisteners:\n  - name: tls\n    address: 127.0.0.1:0\n    tls:\n" + tls_yaml +
         "    routes:\n" + routes;
}

const char* kHelloRoutes =
    "      - prefix: /echo\n        echo: {}\n"
    "      - prefix: /big\n        respond: {body_size: 1m}\n"
    "      - prefix: /\n        respond: {body: hello}\n";

std::string curlUrl(const std::string& host, uint16_t port, const std::string& path) {
  return "https://" + host + ":" + std::to_string(port) + path;
}

std::vector<std::string> curl(const std::string& ca, const std::string& host, uint16_t port,
                              const std::string& path, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", "10", "--cacert", ca, "--resolve",
                                   host + ":" + std::to_string(port) + ":127.0.0.1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(curlUrl(host, port, path));
  return argv;
}

std::pair<int, std::string> sClient(uint16_t port, std::vector<std::string> extra) {
  std::vector<std::string> argv = {"/bin/sh", "-c", ""};
  std::string cmd = "printf 'GET / HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n' | "
                    "timeout 10 openssl s_client -connect 127.0.0.1:" +
                    std::to_string(port) + " -ign_eof";
  for (const std::string& e : extra) {
    cmd += " " + e;
  }
  argv[2] = cmd + " 2>&1";
  return runToExit(argv);
}


class TlsListenerTest : public ServerTest {
 protected:
  server::CounterTotals totals() { return server_->workers().totals(); }
  uint64_t failures(tls::Failure f) { return totals().tls_failures[static_cast<size_t>(f)]; }
  TestPki pki_;
};

TEST_F(TlsListenerTest, CurlAndSniChooseTheCertificate) {
  const CertFiles a = pki_.issue("a", "a.test", {"a.test"});
  const CertFiles b = pki_.issue("b", "wild b", {"*.b.test"});
  start(tlsListener("      certificates:\n"
                    "        - {cert: " + a.cert + ", key: " + a.key + "}\n"
                    "        - {cert: " + b.cert + ", key: " + b.key + "}\n",
                    kHelloRoutes));
  auto [rc, out] = runToExit(curl(pki_.caFile(), "a.test", port(), "/"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "hello");
  std::tie(rc, out) = runToExit(curl(pki_.caFile(), "api.b.test", port(), "/", {"-w", " %{http_version}"}));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "hello 1.1");  // ALPN http/1.1, and no h2 offered

  std::tie(rc, out) = sClient(port(), {"-servername", "x.b.test"});
  EXPECT_NE(out.find("CN = wild b"), std::string::npos) << out;
  std::tie(rc, out) = sClient(port(), {"-servername", "unknown.test"});
  EXPECT_NE(out.find("CN = a.test"), std::string::npos) << out;  // the default
  EXPECT_EQ(totals().tls_handshakes, 4u);
}

TEST_F(TlsListenerTest, SessionsResumeByTicket) {
  const CertFiles leaf = pki_.issue("leaf", "localhost", {"localhost"});
  start(tlsListener("      cert: " + leaf.cert + "\n      key: " + leaf.key + "\n", kHelloRoutes));
  // TLS 1.2: -reconnect reconnects five times with the first session.
  auto [rc, out] = sClient(port(), {"-tls1_2", "-reconnect"});
  size_t reused = 0;
  for (size_t at = out.find("\nReused, TLSv1.2"); at != std::string::npos; at = out.find("\nReused, TLSv1.2", at + 1)) {
    ++reused;
  }
  EXPECT_EQ(reused, 5u) << out;
  // TLS 1.3: the ticket comes after the handshake; save it, then offer it.
  const std::string sess = pki_.dir() + "/s13.pem";
  std::tie(rc, out) = sClient(port(), {"-tls1_3", "-sess_out", sess});
  EXPECT_NE(out.find("New, TLSv1.3"), std::string::npos) << out;
  std::tie(rc, out) = sClient(port(), {"-tls1_3", "-sess_in", sess});
  EXPECT_NE(out.find("Reused, TLSv1.3"), std::string::npos) << out;
  EXPECT_GE(totals().tls_resumed, 6u);
}

// An idle TLS connection does not park (its TLS state would have to move
// with it): with `park: 0ms` a plain connection of the same server parks at
// the next loop turn, the TLS one, idle for longer, stays attached. openssl
// s_client sends one request, holds the connection open 2 s, then ends.
TEST_F(TlsListenerTest, IdleTlsConnectionsDoNotPark) {
  const CertFiles leaf = pki_.issue("leaf", "localhost", {"localhost"});
  start("workers: 1\nlisteners:\n  - name: tls\n    address: 127.0.0.1:0\n    tls:\n      cert: " + leaf.cert +
        "\n      key: " + leaf.key + "\n    routes:\n" + kHelloRoutes +
        "  - name: plain\n    address: 127.0.0.1:0\n    routes:\n" + kHelloRoutes + "timeouts:\n  park: 0ms\n");
  Process tls_client({"/bin/sh", "-c",
                      "(printf 'GET / HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'; sleep 2) | timeout 8 openssl s_client "
                      "-connect 127.0.0.1:" + std::to_string(port()) + " -quiet -no_ign_eof"});
  ASSERT_TRUE(waitFor([&] { return totals().requests == 1; }, milliseconds(5000)));
  TestClient plain(server_->port(1));
  ASSERT_TRUE(plain.send(get("/")));
  ASSERT_TRUE(plain.readResponse());
  ASSERT_TRUE(waitFor([&] { return totals().connections_parked == 1; }, milliseconds(5000)));
  EXPECT_EQ(totals().connections_active, 2u);
  EXPECT_EQ(totals().connections_parked, 1u);  // the plain one only
  EXPECT_EQ(tls_client.wait(milliseconds(10000)), 0);
  EXPECT_NE(tls_client.stdoutText().find("hello"), std::string::npos) << tls_client.stdoutText();
}

TEST_F(TlsListenerTest, OldProtocolsAndPlainHttpAreRefusedAndCounted) {
  const CertFiles leaf = pki_.issue("leaf", "localhost", {"localhost"});
  start(tlsListener("      cert: " + leaf.cert + "\n      key: " + leaf.key + "\n", kHelloRoutes));
  auto [rc, out] = sClient(port(), {"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
  EXPECT_NE(out.find("alert protocol version"), std::string::npos) << out;
  EXPECT_TRUE(waitFor([&] { return failures(tls::Failure::Protocol) == 1; }, milliseconds(5000)));

  TestClient plain(port());
  ASSERT_TRUE(plain.send(get("/")));
  EXPECT_TRUE(plain.waitClosed());
  EXPECT_TRUE(waitFor([&] { return failures(tls::Failure::PlainHttp) == 1; }, milliseconds(5000)));
  EXPECT_EQ(totals().tls_handshakes, 0u);
}

TEST_F(TlsListenerTest, SlowHandshakeTimesOut) {
  const CertFiles leaf = pki_.issue("leaf", "localhost", {"localhost"});
  start(tlsListener("      cert: " + leaf.cert + "\n      key: " + leaf.key + "\n      handshake_timeout: 150ms\n",
                    kHelloRoutes));
  TestClient idle(port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.send(std::string("\x16\x03\x01", 3)));  // a record header, then nothing
  EXPECT_TRUE(idle.waitClosed(milliseconds(5000)));
  EXPECT_TRUE(waitFor([&] { return failures(tls::Failure::Timeout) == 1; }, milliseconds(5000)));
}

TEST_F(TlsListenerTest, BigBodiesBothWays) {
  const CertFiles leaf = pki_.issue("leaf", "localhost", {"localhost"});
  start(tlsListener("      cert: " + leaf.cert + "\n      key: " + leaf.key + "\n", kHelloRoutes));
  auto [rc, out] = runToExit(curl(pki_.caFile(), "localhost", port(), "/big"));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out.size(), 1u << 20);
  EXPECT_TRUE(out == std::string(1 << 20, 'x')) << "the 1 MiB body differs";

  std::string upload;
  for (int i = 0; upload.size() < 3u << 20; ++i) {
    upload += "line " + std::to_string(i) + "\n";
  }
  const std::string file = pki_.writeFile("upload.txt", upload);
  std::tie(rc, out) =
      runToExit(curl(pki_.caFile(), "localhost", port(), "/echo", {"--data-binary", "@" + file}));
  EXPECT_EQ(rc, 0);
  const size_t body = out.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << out.substr(0, 200);
  EXPECT_EQ(out.size() - body - 4, upload.size());
  EXPECT_TRUE(out.compare(body + 4, std::string::npos, upload) == 0) << "echoed body differs";
}

TEST_F(TlsListenerTest, ClientCertificatesRequiredVerifiedAndForwarded) {
  const CertFiles leaf = pki_.issue("leaf", "localhost", {"localhost"});
  const CertFiles alice = pki_.issue("alice", "alice", {});
  TestPki other("another CA");
  const CertFiles mallory = other.issue("mallory", "mallory", {});
  // The origin echoes the request it gets, so the forwarded headers show.
  TestServer origin("workers: 1\nlisteners:\n  - name: o\n    address: 127.0.0.1:0\n    routes:\n"
                    "      - prefix: /\n        echo: {}\n");
  ASSERT_NE(origin.port(), 0);
  start(tlsListener("      cert: " + leaf.cert + "\n      key: " + leaf.key +
                        "\n      client_auth: required\n      client_ca: " + pki_.caFile() + "\n",
                    "      - prefix: /\n        proxy: {cluster: o}\n") +
        "clusters:\n  - name: o\n    endpoints: [http://127.0.0.1:" + std::to_string(origin.port()) + "]\n");

  auto [rc, out] = runToExit(curl(pki_.caFile(), "localhost", port(), "/who",
                                  {"--cert", alice.cert, "--key", alice.key, "-H", "X-Certificate-CommonName: root"}));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("X-Forwarded-Proto: https\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Certificate-CommonName: alice\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Certificate-DistinguishedName: CN=alice,O=plexgate tests\r\n"), std::string::npos);
  EXPECT_NE(out.find("X-Certificate-Public: MII"), std::string::npos);
  EXPECT_EQ(out.find("root"), std::string::npos) << "a client's own X-Certificate-* must not pass";

  std::tie(rc, out) = runToExit(curl(pki_.caFile(), "localhost", port(), "/"));
  EXPECT_NE(rc, 0) << "no client certificate must fail: " << out;
  std::tie(rc, out) = runToExit(curl(pki_.caFile(), "localhost", port(), "/", {"--cert", mallory.cert, "--key", mallory.key}));
  EXPECT_NE(rc, 0) << "a certificate from another CA must fail: " << out;
  EXPECT_TRUE(waitFor([&] { return failures(tls::Failure::Certificate) == 2; }, milliseconds(5000)));
  EXPECT_TRUE(origin.stop());
}

TEST_F(TlsListenerTest, OptionalClientCertificatesLetAnonymousIn) {
  const CertFiles leaf = pki_.issue("leaf", "localhost", {"localhost"});
  start(tlsListener("      cert: " + leaf.cert + "\n      key: " + leaf.key +
                        "\n      client_auth: optional\n      client_ca: " + pki_.caFile() + "\n",
                    kHelloRoutes));
  auto [rc, out] = runToExit(curl(pki_.caFile(), "localhost", port(), "/"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "hello");
}

// SIGHUP swaps certificates for new connections; a bad one is refused with
// its file, line and key, and the running one stays. Relative paths in the
// file resolve against the file's directory.
TEST(TlsReload, SighupSwapsCertificatesAndRefusesBadOnes) {
  TestPki pki;
  const CertFiles first = pki.issue("first", "first", {"localhost"});
  const std::string cfg = pki.writeFile("plexgate.yaml",
                                        "workers: 1\nlisteners:\n  - name: tls\n    address: 127.0.0.1:0\n"
                                        "    tls: {cert: live.pem, key: live.key}\n    routes:\n"
                                        "      - prefix: /\n        respond: {body: hi}\n");
  const auto install = [&](const CertFiles& c) {
    std::filesystem::copy_file(c.cert, pki.dir() + "/live.pem", std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(c.key, pki.dir() + "/live.key", std::filesystem::copy_options::overwrite_existing);
  };
  install(first);
  Process p({PLEXGATE_BINARY, "-c", cfg});
  const auto line = p.waitStderr("listener tls on https://", milliseconds(5000));
  ASSERT_TRUE(line) << p.stderrText();
  const uint16_t port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  auto [rc, out] = sClient(port, {"-servername", "localhost"});
  EXPECT_NE(out.find("CN = first"), std::string::npos) << out;

  install(pki.issue("second", "second", {"localhost"}));
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitStderr("reloaded", milliseconds(5000))) << p.stderrText();
  std::tie(rc, out) = sClient(port, {"-servername", "localhost"});
  EXPECT_NE(out.find("CN = second"), std::string::npos) << out;

  pki.writeFile("live.pem", "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
  p.signal(SIGHUP);
  const auto refused = p.waitStderr("reload refused", milliseconds(5000));
  ASSERT_TRUE(refused) << p.stderrText();
  EXPECT_NE(refused->find("plexgate.yaml:5: listeners[0].tls: cannot load certificate chain '" + pki.dir() +
                          "/live.pem'"),
            std::string::npos)
      << *refused;
  std::tie(rc, out) = sClient(port, {"-servername", "localhost"});
  EXPECT_NE(out.find("CN = second"), std::string::npos) << out;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(milliseconds(5000)), 0) << p.stderrText();
}

// ---- upstream TLS ----------------------------------------------------------------

class TlsUpstreamTest : public ServerTest {
 protected:
  // A TLS origin answering "origin" on 127.0.0.1 with `cert`.
  std::unique_ptr<TestServer> origin(const CertFiles& cert, const std::string& extra_tls = "") {
    auto o = std::make_unique<TestServer>(
        tlsListener("      cert: " + cert.cert + "\n      key: " + cert.key + "\n" + extra_tls,
                    "      - prefix: /\n        respond: {body: origin}\n"));
    EXPECT_NE(o->port(), 0);
    return o;
  }
  void proxyTo(uint16_t origin_port, const std::string& tls_yaml, const std::string& host = "127.0.0.1",
               const std::string& pool = "") {
    start("workers: 1\nlisteners:\n  - name: p\n    address: 127.0.0.1:0\n    routes:\n"
          "      - prefix: /\n        proxy: {cluster: o}\n"
          "clusters:\n  - name: o\n    retries: 0\n    endpoints: [https://" + host + ":" +
          std::to_string(origin_port) + "]\n" + tls_yaml + pool);
  }
  Response fetch() {
    TestClient c(port());
    EXPECT_TRUE(c.send(get("/")));
    auto r = c.readResponse();
    EXPECT_TRUE(r.has_value());
    return r.value_or(Response{});
  }
  TestPki pki_;
};

TEST_F(TlsUpstreamTest, VerifiedOriginAnswers) {
  auto o = origin(pki_.issue("o", "origin", {"127.0.0.1"}));
  proxyTo(o->port(), "    tls: {ca_file: " + pki_.caFile() + "}\n");
  const Response r = fetch();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "origin");
  EXPECT_TRUE(o->stop());
}

TEST_F(TlsUpstreamTest, SelfSignedOriginIsRefusedUnlessVerifyIsOff) {
  auto o = origin(pki_.selfSigned("self", "origin", {"127.0.0.1"}));
  proxyTo(o->port(), "    tls: {ca_file: " + pki_.caFile() + "}\n");
  Response r = fetch();
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("The upstream's TLS certificate could not be verified"), std::string::npos) << r.body;
  EXPECT_EQ(server_->publish("workers: 1\nlisteners:\n  - name: p\n    address: 127.0.0.1:0\n    routes:\n"
                             "      - prefix: /\n        proxy: {cluster: o}\n"
                             "clusters:\n  - name: o\n    endpoints: [https://127.0.0.1:" +
                             std::to_string(o->port()) + "]\n    tls: {verify: false}\n"),
            "");
  r = fetch();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "origin");
  EXPECT_TRUE(o->stop());
}

TEST_F(TlsUpstreamTest, WrongNameIsACertificateError) {
  auto o = origin(pki_.issue("o", "origin", {"origin.test"}));
  proxyTo(o->port(), "    tls: {ca_file: " + pki_.caFile() + ", sni: elsewhere.test}\n");
  const Response r = fetch();
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("certificate could not be verified"), std::string::npos) << r.body;
  EXPECT_TRUE(o->stop());
}

TEST_F(TlsUpstreamTest, MutualTlsOriginNeedsTheClientCertificate) {
  const CertFiles client = pki_.issue("gw", "gateway", {});
  auto o = origin(pki_.issue("o", "origin", {"127.0.0.1"}),
                  "      client_auth: required\n      client_ca: " + pki_.caFile() + "\n");
  proxyTo(o->port(), "    tls: {ca_file: " + pki_.caFile() + ", client_cert: " + client.cert +
                         ", client_key: " + client.key + "}\n");
  Response r = fetch();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "origin");

  EXPECT_EQ(server_->publish("workers: 1\nlisteners:\n  - name: p\n    address: 127.0.0.1:0\n    routes:\n"
                             "      - prefix: /\n        proxy: {cluster: o}\n"
                             "clusters:\n  - name: o\n    retries: 0\n    endpoints: [https://127.0.0.1:" +
                             std::to_string(o->port()) + "]\n    tls: {ca_file: " + pki_.caFile() + "}\n"),
            "");
  r = fetch();
  EXPECT_EQ(r.status, 502);  // TLS 1.3: the origin's refusal arrives after our Finished
  EXPECT_TRUE(o->stop());
}

TEST_F(TlsUpstreamTest, NewConnectionsResumeTheEndpointsSession) {
  auto o = origin(pki_.issue("o", "origin", {"127.0.0.1"}));
  proxyTo(o->port(), "    tls: {ca_file: " + pki_.caFile() + "}\n", "127.0.0.1", "    pool: {max_requests: 1}\n");
  for (int i = 0; i < 4; ++i) {
    const Response r = fetch();
    EXPECT_EQ(r.status, 200);
  }
  EXPECT_EQ(server_->upstreamConnects(), 4u);
  EXPECT_TRUE(waitFor([&] { return o->workers().totals().tls_handshakes == 4; }, milliseconds(5000)));
  EXPECT_EQ(o->workers().totals().tls_resumed, 3u);  // every one after the first
  EXPECT_TRUE(o->stop());
}

}  // namespace
}  // namespace plexgate::test
