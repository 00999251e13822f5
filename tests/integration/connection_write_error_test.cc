// Connection::write and a peer that has reset the connection: a write that
// fails at once (uv_try_write / uv_write returning ECONNRESET or EPIPE) must
// not call ConnectionHandler::onWriteError from inside write(), where the
// handler would drop objects its caller still uses (the ProxyStream and
// fan-out crashes of commits 7017159 and 0dcbbae). The failure is reported
// once, from a later loop turn, unless the connection is closed first.
//
// Real sockets on 127.0.0.1 with a kernel-chosen port: the peer is a plain
// accepted socket closed with SO_LINGER {1, 0}, so the kernel sends a RST.
// The test waits for that RST to land (a read error) before writing, so the
// write fails for certain; nothing sleeps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <memory>

#include "engine/buf/buffer_chain.h"
#include "engine/loop/event_loop.h"
#include "engine/net/connection.h"
#include "support/test_certs.h"
#include "tls/tls_context.h"

namespace plexgate::net {
namespace {

class ConnectionWriteErrorTest : public ::testing::Test, public ConnectionHandler {
 protected:
  void SetUp() override {
    // plexgate's main() ignores SIGPIPE; a second write on a reset socket
    // (EPIPE) would otherwise kill the test binary.
    std::signal(SIGPIPE, SIG_IGN);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listen_fd_, 0);
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr_);
    ASSERT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_)), 0);
    ASSERT_EQ(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr_), &len), 0);
    ASSERT_EQ(::listen(listen_fd_, 4), 0);

    // Counts loop iterations (a check handle runs once per turn, after
    // polling for I/O); unref'd, so it never keeps the loop alive.
    uv_check_init(loop_.uv(), &turns_);
    turns_.data = this;
    uv_check_start(&turns_, [](uv_check_t* h) { ++static_cast<ConnectionWriteErrorTest*>(h->data)->turn_; });
    uv_unref(reinterpret_cast<uv_handle_t*>(&turns_));
    uv_idle_init(loop_.uv(), &settle_);
    settle_.data = this;
  }

  void TearDown() override {
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
    }
  }

  // Connects, resets the peer, waits for the reset to be read, then runs
  // `on_reset` (from the read-error callback). Returns EventLoop::run()'s
  // result: 0 when every handle closed.
  int run(std::function<void()> on_reset) {
    on_reset_ = std::move(on_reset);
    conn_ = std::make_unique<Connection>(loop_, *this);
    EXPECT_EQ(conn_->connect(reinterpret_cast<const sockaddr*>(&addr_)), 0);
    loop_.timeouts(10'000).arm(watchdog_, loop_.now());
    return loop_.run();
  }

  // As run(), over TLS: the peer is a server Connection on the same loop
  // that resets (RST) as soon as its handshake completes, so the client's
  // write goes through encrypt() before the kernel refuses it.
  int runTls(std::function<void()> on_reset) {
    pki_ = std::make_unique<test::TestPki>();
    const test::CertFiles leaf = pki_->issue("localhost", "localhost", {"localhost", "127.0.0.1"});
    std::string error;
    tls::ServerOptions so;
    so.certificates.push_back({leaf.cert, leaf.key, {}});
    server_ctx_ = tls::ServerContext::build(so, error);
    EXPECT_NE(server_ctx_, nullptr) << error;
    tls::ClientOptions co;
    co.ca_file = pki_->caFile();
    tls::ClientContextPtr client_ctx = tls::ClientContext::build(co, error);
    EXPECT_NE(client_ctx, nullptr) << error;
    if (server_ctx_ == nullptr || client_ctx == nullptr) {
      return -1;
    }
    tls_ = true;
    uv_tcp_init(loop_.uv(), &listener_);
    listener_.data = this;
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&any), 0), 0);
    int len = sizeof(addr_);
    EXPECT_EQ(uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&addr_), &len), 0);
    EXPECT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 4,
                        [](uv_stream_t* l, int status) {
                          auto* self = static_cast<ConnectionWriteErrorTest*>(l->data);
                          ASSERT_EQ(status, 0);
                          self->server_ = std::make_unique<Connection>(self->loop_, self->server_side_);
                          self->server_side_.conn = self->server_.get();
                          ASSERT_TRUE(self->server_->accept(l));
                          ASSERT_TRUE(self->server_->startServerTls(self->server_ctx_));
                          self->server_->readStart();
                          uv_close(reinterpret_cast<uv_handle_t*>(l), nullptr);  // one peer is enough
                        }),
              0);
    on_reset_ = std::move(on_reset);
    conn_ = std::make_unique<Connection>(loop_, *this);
    EXPECT_TRUE(conn_->startClientTls(client_ctx, "localhost", nullptr));
    EXPECT_EQ(conn_->connect(reinterpret_cast<const sockaddr*>(&addr_)), 0);
    loop_.timeouts(10'000).arm(watchdog_, loop_.now());
    return loop_.run();
  }

  // The TLS peer: resets once its handshake is done.
  struct ServerSide final : ConnectionHandler {
    Connection* conn = nullptr;
    bool handshake = false;
    bool closed = false;
    void onData() override { conn->consume(conn->unread().size()); }
    void onEof() override { conn->close(); }
    void onReadError(int) override { conn->close(); }
    void onWriteError(int) override { conn->close(); }
    void onClosed() override { closed = true; }
    void onTlsHandshake() override {
      handshake = true;
      conn->reset();
    }
  };

  // Runs `fn` once the loop has turned `turns` more times (an idle handle
  // keeps it from blocking in poll meanwhile).
  void afterTurns(int turns, std::function<void()> fn) {
    settle_left_ = turns;
    settle_fn_ = std::move(fn);
    uv_idle_start(&settle_, [](uv_idle_t* h) {
      auto* self = static_cast<ConnectionWriteErrorTest*>(h->data);
      if (--self->settle_left_ <= 0) {
        uv_idle_stop(h);
        std::function<void()> fn = std::move(self->settle_fn_);
        fn();
      }
    });
  }

  void stopLoop() {
    watchdog_.cancel();
    uv_close(reinterpret_cast<uv_handle_t*>(&settle_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&turns_), nullptr);
    loop_.stop();
  }

  buf::BufferChain bytes(std::string_view s) {
    buf::BufferChain c(loop_.slicePool());
    c.appendCopy(s);
    return c;
  }

  // Writes, noting that a callback arriving meanwhile came from inside write().
  void write(buf::BufferChain& chain) {
    in_write_ = true;
    conn_->write(chain);
    in_write_ = false;
  }

  // ---- ConnectionHandler ----
  void onConnected(int status) override {
    ASSERT_EQ(status, 0);
    if (tls_) {
      return;  // handshake done; the connection reads already, and the server resets
    }
    const int peer = ::accept(listen_fd_, nullptr, nullptr);
    ASSERT_GE(peer, 0);
    const linger reset{1, 0};
    ASSERT_EQ(::setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)), 0);
    ::close(peer);  // RST
    conn_->readStart();
  }
  void onData() override { conn_->consume(conn_->unread().size()); }
  void onEof() override {
    if (tls_) {
      // The RST came behind the server's session tickets: libuv reads the
      // tickets, sees EPOLLHUP with a partial read and reports UV_EOF (not
      // ECONNRESET, which stays pending on the socket for the write).
      on_reset_();
      return;
    }
    ADD_FAILURE() << "EOF where a reset was expected";
    conn_->close();
  }
  void onReadError(int err) override {
    EXPECT_EQ(err, UV_ECONNRESET);
    on_reset_();
  }
  void onWriteError(int err) override {
    EXPECT_FALSE(in_write_) << "onWriteError called from inside Connection::write";
    ++write_errors_;
    write_error_ = err;
    report_turn_ = turn_;
    if (on_write_error_) {
      on_write_error_();
    }
  }
  void onClosed() override {
    ++closed_;
    if (on_closed_) {
      on_closed_();
    } else {
      afterTurns(5, [this] { stopLoop(); });  // would a report still come?
    }
  }

  static void onWatchdog(loop::TimeoutNode& node) {
    auto* self = static_cast<ConnectionWriteErrorTest*>(node.owner());
    ADD_FAILURE() << "timed out";
    if (self->conn_) {
      self->conn_->close();
    }
    self->stopLoop();
  }

  loop::EventLoop loop_;  // declared first: outlives the connections
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<test::TestPki> pki_;
  tls::ServerContextPtr server_ctx_;
  uv_tcp_t listener_;
  ServerSide server_side_;
  std::unique_ptr<Connection> server_;
  bool tls_ = false;
  int listen_fd_ = -1;
  sockaddr_in addr_{};
  uv_check_t turns_;
  uv_idle_t settle_;
  loop::TimeoutNode watchdog_{&ConnectionWriteErrorTest::onWatchdog, this};
  std::function<void()> on_reset_;
  std::function<void()> on_write_error_;
  std::function<void()> on_closed_;
  std::function<void()> settle_fn_;
  uint64_t turn_ = 0;
  uint64_t write_turn_ = 0;
  uint64_t report_turn_ = 0;
  int settle_left_ = 0;
  int write_errors_ = 0;
  int write_error_ = 0;
  int closed_ = 0;
  bool in_write_ = false;
};

// The failure is not reported from inside write(): write() takes the bytes
// and returns, the connection stops counting as open, and later writes are
// dropped quietly. onWriteError follows exactly once, on a later loop turn;
// the connection stays open a few more turns to show no second report.
TEST_F(ConnectionWriteErrorTest, FailedWriteIsReportedOnceOnALaterTurn) {
  on_write_error_ = [this] { afterTurns(5, [this] { conn_->close(); }); };
  const int rc = run([this] {
    buf::BufferChain first = bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    write_turn_ = turn_;
    write(first);
    EXPECT_EQ(write_errors_, 0) << "reported from inside write()";
    EXPECT_TRUE(first.empty()) << "write() takes every byte, also when it fails";
    EXPECT_FALSE(conn_->open()) << "a connection whose write failed is not open for use";
    EXPECT_FALSE(conn_->closing());
    EXPECT_EQ(conn_->pendingBytes(), 0u);
    buf::BufferChain second = bytes("more");
    write(second);  // dropped: no second syscall, no second report
    EXPECT_TRUE(second.empty());
    EXPECT_EQ(conn_->pendingBytes(), 0u);
    EXPECT_EQ(write_errors_, 0);
  });
  EXPECT_EQ(rc, 0) << "a handle was left open";
  EXPECT_EQ(write_errors_, 1);
  EXPECT_TRUE(write_error_ == UV_EPIPE || write_error_ == UV_ECONNRESET) << uv_strerror(write_error_);
  EXPECT_GT(report_turn_, write_turn_) << "reported on the turn that wrote";
  EXPECT_EQ(closed_, 1);
}

// Closing the connection between the failed write and its report cancels
// the report: onClosed comes, onWriteError never does.
TEST_F(ConnectionWriteErrorTest, CloseBeforeTheReportCancelsIt) {
  const int rc = run([this] {
    buf::BufferChain b = bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    write(b);
    conn_->close();
  });
  EXPECT_EQ(rc, 0) << "a handle was left open";
  EXPECT_EQ(write_errors_, 0);
  EXPECT_EQ(closed_, 1);
}

// The usual owner: the handler closes the connection when the failure is
// reported, and frees it once onClosed has returned (deferred, as Session and
// UpstreamConnection do). Under ASan this shows nothing touches the freed
// connection afterwards.
TEST_F(ConnectionWriteErrorTest, OwnerClosesOnTheReportAndFreesTheConnection) {
  struct Holder final : loop::DeferredDeletable {
    std::unique_ptr<Connection> conn;
  };
  on_write_error_ = [this] {
    EXPECT_FALSE(in_write_);
    conn_->close();
    buf::BufferChain late = bytes("late");
    write(late);  // closing: dropped
    EXPECT_TRUE(late.empty());
  };
  on_closed_ = [this] {
    auto h = std::make_unique<Holder>();
    h->conn = std::move(conn_);
    loop_.deferredDelete(std::move(h));
    afterTurns(5, [this] { stopLoop(); });
  };
  const int rc = run([this] {
    buf::BufferChain b = bytes("x");
    write(b);
    buf::BufferChain again = bytes("y");
    write(again);
  });
  EXPECT_EQ(rc, 0) << "a handle was left open";
  EXPECT_EQ(write_errors_, 1);
  EXPECT_EQ(closed_, 1);
  EXPECT_EQ(conn_, nullptr);
}

// The same over TLS: the bytes are encrypted into records first, and the
// kernel refuses the records. encrypt() and flush() both run inside write();
// the report still comes once, on a later turn.
TEST_F(ConnectionWriteErrorTest, TlsFailedWriteIsReportedOnceOnALaterTurn) {
  on_write_error_ = [this] { afterTurns(5, [this] { conn_->close(); }); };
  const int rc = runTls([this] {
    ASSERT_NE(conn_->tls(), nullptr);
    ASSERT_TRUE(conn_->tls()->handshakeDone());
    buf::BufferChain first = bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    write_turn_ = turn_;
    write(first);
    EXPECT_EQ(write_errors_, 0) << "reported from inside write()";
    EXPECT_TRUE(first.empty());
    EXPECT_FALSE(conn_->open());
    EXPECT_EQ(conn_->pendingBytes(), 0u);
    buf::BufferChain second = bytes("more");
    write(second);
    EXPECT_EQ(conn_->pendingBytes(), 0u);
    EXPECT_EQ(write_errors_, 0);
  });
  EXPECT_EQ(rc, 0) << "a handle was left open";
  EXPECT_TRUE(server_side_.handshake);
  EXPECT_TRUE(server_side_.closed);
  EXPECT_EQ(write_errors_, 1);
  EXPECT_TRUE(write_error_ == UV_EPIPE || write_error_ == UV_ECONNRESET) << uv_strerror(write_error_);
  EXPECT_GT(report_turn_, write_turn_) << "reported on the turn that wrote";
  EXPECT_EQ(closed_, 1);
}

}  // namespace
}  // namespace plexgate::net
