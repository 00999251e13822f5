// TlsSession and the contexts, end to end in memory: a client session and a
// server session hand each other their ciphertext directly, so handshakes,
// SNI, verification, client certificates and ticket resumption are checked
// without sockets.
#include "tls/tls_session.h"

#include <gtest/gtest.h>

#include <string>

#include "support/test_certs.h"
#include "tls/tls_context.h"

namespace plexgate::tls {
namespace {

using Status = TlsSession::Status;

struct Wire final : TlsOutput {
  std::string bytes;
  void onTlsOutput(const char* data, size_t n) override { bytes.append(data, n); }
};

// Feeds `wire` into `s`'s handshake, keeping what it did not take.
Status stepHandshake(TlsSession& s, Wire& wire) {
  std::string_view in = wire.bytes;
  const Status st = s.handshake(in);
  wire.bytes.erase(0, wire.bytes.size() - in.size());
  return st;
}

// Reads every plaintext byte `s` can produce from `wire`.
std::string readAll(TlsSession& s, Wire& wire, Status* last = nullptr) {
  std::string out;
  char buf[4096];
  for (;;) {
    std::string_view in = wire.bytes;
    const TlsSession::ReadResult r = s.read(in, buf, sizeof(buf));
    wire.bytes.erase(0, wire.bytes.size() - in.size());
    if (r.status != Status::Ok) {
      if (last != nullptr) {
        *last = r.status;
      }
      return out;
    }
    out.append(buf, r.n);
  }
}

struct Pair {
  Wire to_server;  // the client's output
  Wire to_client;  // the server's output
  std::unique_ptr<TlsSession> client;
  std::unique_ptr<TlsSession> server;

  Pair(ServerContextPtr sc, ClientContextPtr cc, const std::string& host, ClientSessionCache* cache = nullptr) {
    server = TlsSession::server(std::move(sc), to_client);
    client = TlsSession::client(std::move(cc), host, cache, to_server);
  }
  // Runs both sides until each is done or one fails; true when both done.
  bool handshake() {
    for (int round = 0; round < 10; ++round) {
      const Status c = stepHandshake(*client, to_client);
      const Status s = stepHandshake(*server, to_server);
      if (c == Status::Failed || s == Status::Failed) {
        return false;
      }
      if (client->handshakeDone() && server->handshakeDone()) {
        return true;
      }
    }
    return false;
  }
};

class TlsSessionTest : public ::testing::Test {
 protected:
  ServerContextPtr serverCtx(ServerOptions o) {
    std::string error;
    ServerContextPtr sc = ServerContext::build(o, error);
    EXPECT_NE(sc, nullptr) << error;
    return sc;
  }
  ServerOptions oneCert(const test::CertFiles& f) {
    ServerOptions o;
    o.certificates.push_back({f.cert, f.key, {}});
    return o;
  }
  ClientContextPtr clientCtx(ClientOptions o) {
    std::string error;
    ClientContextPtr cc = ClientContext::build(o, error);
    EXPECT_NE(cc, nullptr) << error;
    return cc;
  }
  ClientOptions trusting() {
    ClientOptions o;
    o.ca_file = pki_.caFile();
    return o;
  }
  test::TestPki pki_;
};

TEST_F(TlsSessionTest, HandshakeThenDataBothWays) {
  const auto leaf = pki_.issue("localhost", "localhost", {"localhost", "127.0.0.1"});
  Pair p(serverCtx(oneCert(leaf)), clientCtx(trusting()), "localhost");
  ASSERT_TRUE(p.handshake());
  EXPECT_EQ(p.server->alpn(), "http/1.1");
  EXPECT_STREQ(p.server->version(), "TLSv1.3");
  EXPECT_EQ(p.server->serverName(), "localhost");

  ASSERT_TRUE(p.client->write("GET / HTTP/1.1\r\n\r\n", 18));
  EXPECT_EQ(readAll(*p.server, p.to_server), "GET / HTTP/1.1\r\n\r\n");
  const std::string big(100'000, 'x');
  ASSERT_TRUE(p.server->write(big.data(), big.size()));
  EXPECT_EQ(readAll(*p.client, p.to_client), big);

  p.server->shutdown();
  Status last = Status::Ok;
  readAll(*p.client, p.to_client, &last);
  EXPECT_EQ(last, Status::Closed);  // close_notify reads as a clean end
}

TEST_F(TlsSessionTest, IpLiteralEndpointsAreVerifiedAgainstIpSans) {
  const auto leaf = pki_.issue("ip", "ip", {"127.0.0.1"});
  Pair p(serverCtx(oneCert(leaf)), clientCtx(trusting()), "127.0.0.1");
  EXPECT_TRUE(p.handshake());
  EXPECT_EQ(p.server->serverName(), "");  // no SNI for an IP literal
}

TEST_F(TlsSessionTest, SniPicksExactThenWildcardThenDefault) {
  const auto a = pki_.issue("a", "a.test", {"a.test"});
  const auto b = pki_.issue("b", "wild b", {"*.b.test"});
  ServerOptions o;
  o.certificates.push_back({a.cert, a.key, {}});
  o.certificates.push_back({b.cert, b.key, {}});
  const ServerContextPtr sc = serverCtx(o);
  ASSERT_EQ(sc->serverNames().size(), 2u);
  EXPECT_EQ(sc->serverNames()[1], std::vector<std::string>{"*.b.test"});

  Pair wild(sc, clientCtx(trusting()), "X.B.test");
  ASSERT_TRUE(wild.handshake());
  EXPECT_EQ(wild.client->peerCertificate().common_name, "wild b");

  Pair exact(sc, clientCtx(trusting()), "a.test");
  ASSERT_TRUE(exact.handshake());
  EXPECT_EQ(exact.client->peerCertificate().common_name, "a.test");

  // A wildcard covers one label only; unknown names get the default (a),
  // which a verifying client then refuses for that name.
  Pair deep(sc, clientCtx(trusting()), "x.y.b.test");
  EXPECT_FALSE(deep.handshake());
  EXPECT_TRUE(deep.client->certificateError());
  ClientOptions lax;
  lax.verify = false;
  Pair unknown(sc, clientCtx(lax), "other.test");
  ASSERT_TRUE(unknown.handshake());
  EXPECT_EQ(unknown.client->peerCertificate().common_name, "a.test");
}

TEST_F(TlsSessionTest, VerificationFailuresAreCertificateErrors) {
  const auto self = pki_.selfSigned("self", "localhost", {"localhost"});
  Pair untrusted(serverCtx(oneCert(self)), clientCtx(trusting()), "localhost");
  EXPECT_FALSE(untrusted.handshake());
  EXPECT_TRUE(untrusted.client->certificateError());
  EXPECT_EQ(untrusted.client->failure(), Failure::Certificate);

  const auto leaf = pki_.issue("leaf", "localhost", {"localhost"});
  Pair wrong_name(serverCtx(oneCert(leaf)), clientCtx(trusting()), "elsewhere.test");
  EXPECT_FALSE(wrong_name.handshake());
  EXPECT_TRUE(wrong_name.client->certificateError());

  ClientOptions off;
  off.verify = false;
  Pair unchecked(serverCtx(oneCert(self)), clientCtx(off), "localhost");
  EXPECT_TRUE(unchecked.handshake());
}

TEST_F(TlsSessionTest, ClientCertificatesRequiredAndReported) {
  const auto leaf = pki_.issue("srv", "localhost", {"localhost"});
  ServerOptions o = oneCert(leaf);
  o.client_auth = ClientAuth::Required;
  o.client_ca_file = pki_.caFile();
  const ServerContextPtr sc = serverCtx(o);

  Pair without(sc, clientCtx(trusting()), "localhost");
  // TLS 1.3: the client finishes first; the server's refusal follows.
  without.handshake();
  EXPECT_FALSE(without.server->handshakeDone());
  EXPECT_EQ(without.server->failure(), Failure::Certificate);

  const auto alice = pki_.issue("alice", "alice", {});
  ClientOptions with = trusting();
  with.client_cert_file = alice.cert;
  with.client_key_file = alice.key;
  Pair p(sc, clientCtx(with), "localhost");
  ASSERT_TRUE(p.handshake());
  const PeerCertificate pc = p.server->peerCertificate();
  ASSERT_TRUE(pc.present);
  EXPECT_EQ(pc.common_name, "alice");
  EXPECT_EQ(pc.subject_dn, "CN=alice,O=plexgate tests");
  EXPECT_GT(pc.der.size(), 100u);
  EXPECT_EQ(static_cast<uint8_t>(pc.der[0]), 0x30);  // a DER SEQUENCE

  test::TestPki other("another CA");
  const auto mallory = other.issue("mallory", "mallory", {});
  ClientOptions foreign = trusting();
  foreign.client_cert_file = mallory.cert;
  foreign.client_key_file = mallory.key;
  Pair refused(sc, clientCtx(foreign), "localhost");
  refused.handshake();
  EXPECT_FALSE(refused.server->handshakeDone());
  EXPECT_EQ(refused.server->failure(), Failure::Certificate);
}

TEST_F(TlsSessionTest, TicketsFromAKeyFileResumeOnAnotherInstance) {
  const auto leaf = pki_.issue("leaf", "localhost", {"localhost"});
  const std::string keys = pki_.writeFile("tickets.key", std::string(80, '\x5a'));
  ServerOptions o = oneCert(leaf);
  o.ticket_key_file = keys;
  const ServerContextPtr first = serverCtx(o);
  const ServerContextPtr second = serverCtx(o);  // another instance, same file
  const ClientContextPtr cc = clientCtx(trusting());
  ClientSessionCache cache;

  Pair full(first, cc, "localhost", &cache);
  ASSERT_TRUE(full.handshake());
  EXPECT_FALSE(full.server->resumed());
  // The tickets come right after the handshake, before any response (so
  // a client's Finished is acknowledged by them, not by a delayed ACK).
  EXPECT_FALSE(full.to_client.bytes.empty());
  EXPECT_EQ(readAll(*full.client, full.to_client), "");
  ASSERT_NE(cache.session, nullptr);
  ASSERT_TRUE(full.server->write("x", 1));
  EXPECT_EQ(readAll(*full.client, full.to_client), "x");

  Pair again(second, cc, "localhost", &cache);
  ASSERT_TRUE(again.handshake());
  EXPECT_TRUE(again.server->resumed());
  EXPECT_TRUE(again.client->resumed());

  ServerOptions fresh = oneCert(leaf);  // random keys: the ticket is unknown
  Pair elsewhere(serverCtx(fresh), cc, "localhost", &cache);
  ASSERT_TRUE(elsewhere.handshake());
  EXPECT_FALSE(elsewhere.server->resumed());
}

TEST_F(TlsSessionTest, TicketKeyFilesMustHoldWholeKeys) {
  std::string error;
  EXPECT_EQ(TicketKeyRing::fromBytes(std::string(47, 'k'), error), nullptr);
  EXPECT_EQ(error, "expected one or more 48-byte or 80-byte keys, got 47 bytes");
  const auto two = TicketKeyRing::fromBytes(std::string(96, 'k'), error);
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->keyCount(), 2u);
}

TEST_F(TlsSessionTest, PlainHttpOnTheTlsPortIsNamed) {
  const auto leaf = pki_.issue("leaf", "localhost", {"localhost"});
  Wire out;
  auto server = TlsSession::server(serverCtx(oneCert(leaf)), out);
  std::string_view in = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(server->handshake(in), Status::Failed);
  EXPECT_EQ(server->failure(), Failure::PlainHttp);
  EXPECT_STREQ(failureName(server->failure()), "plain_http");
}

TEST_F(TlsSessionTest, BadKeyOrMissingFilesFailTheBuildWithTheFileName) {
  const auto a = pki_.issue("a", "a", {"a"});
  const auto b = pki_.issue("b", "b", {"b"});
  ServerOptions mismatch;
  mismatch.certificates.push_back({a.cert, b.key, {}});
  std::string error;
  EXPECT_EQ(ServerContext::build(mismatch, error), nullptr);
  EXPECT_EQ(error, "private key '" + b.key + "' does not match certificate '" + a.cert + "'");

  ServerOptions garbage;
  garbage.certificates.push_back({pki_.writeFile("junk.pem", "not a certificate"), a.key, {}});
  EXPECT_EQ(ServerContext::build(garbage, error), nullptr);
  EXPECT_EQ(error.rfind("cannot load certificate chain '" + pki_.dir() + "/junk.pem': ", 0), 0u) << error;
}

TEST(TlsBase64, StandardAlphabetWithPadding) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode(std::string("\xfb\xff", 2)), "+/8=");
}

}  // namespace
}  // namespace plexgate::tls
