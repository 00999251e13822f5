// Connection: one TCP stream on one loop (downstream or upstream). Drives a
// Socket (the uv_tcp_t), owns the input slice that reads land in (no malloc
// per read), the
// chain of bytes waiting to be written and the one write in flight, whose
// pieces it pins until write_cb. With TLS started, a tls::TlsSession sits
// between the socket and those buffers: handlers see plaintext in unread()
// and write plaintext, exactly as without TLS. Its owner (a Session) must
// stay alive until ConnectionHandler::onClosed, and frees itself only after
// that returns.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/buf/buffer_chain.h"
#include "engine/loop/event_loop.h"
#include "tls/tls_session.h"

namespace plexgate::net {

// Errors a TLS connection reports through onReadError / onConnected, beside
// libuv's (negative errno values).
inline constexpr int kErrTlsHandshake = -70001;    // handshake failed (see tls()->failure())
inline constexpr int kErrTlsCertificate = -70002;  // the peer's certificate failed verification
inline constexpr int kErrTlsProtocol = -70003;     // a bad record after the handshake

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void onData() = 0;           // unread() has new bytes
  virtual void onEof() = 0;            // peer finished sending
  virtual void onReadError(int uv_err) = 0;
  virtual void onWritable() {}         // a write completed; pendingBytes() shrank
  // A write failed (the peer reset, EPIPE...). Never called from inside
  // Connection::write or finish(): a failure found there is reported from a
  // later loop turn, once, unless the connection is closed first.
  virtual void onWriteError(int uv_err) = 0;
  virtual void onClosed() = 0;         // the handle is closed; the owner may go
  virtual void onConnected(int /*uv_status*/) {}  // after connect() (and the TLS handshake): 0 or an error
  virtual void onTlsHandshake() {}     // server side: the handshake completed
};

class Connection;

// The peer's address, IPv4 or IPv6 (a sockaddr_storage is 128 bytes).
union PeerAddress {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

// A connection's libuv handle, apart from the Connection so that it can
// outlive one: an idle downstream connection is parked (Connection::detach)
// and keeps only its Socket, inside its owner's bookkeeping; when it turns
// readable (bytes, or the peer's close), the loop's parked-socket hook
// (EventLoop::setParkedWake) must attach a new Connection (adopt), which
// reads them. An upstream Connection makes its own. tcp.data points here.
struct Socket {
  uv_tcp_t tcp;
  Connection* conn = nullptr;  // attached; null while parked
};

class Connection final : private tls::TlsOutput {
 public:
  enum class State : uint8_t { Open, Finishing, Lingering, Closing, Closed };

  Connection(loop::EventLoop& loop, ConnectionHandler& handler);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Accepts from a listening stream into `socket` (the caller's, which must
  // outlive the close callback) or, without one, into a Socket of our own;
  // false (and the handle closed) on failure.
  bool accept(uv_stream_t* server, Socket* socket = nullptr);
  // Parking. detach() hands the socket back to its owner, open and still
  // reading, and forgets it; this Connection may then be destroyed at once.
  // Only an idle plain connection on a caller's Socket can park: open,
  // reading, not connecting, nothing unread, queued or in flight, no TLS;
  // false (nothing changed) otherwise. adopt() takes over a parked socket
  // (from the parked-socket hook) in that same state, and reads its peer's
  // address again (one getpeername: a parked socket keeps no address).
  bool detach();
  void adopt(Socket& socket);
  // Starts an outbound connection; ConnectionHandler::onConnected reports
  // the result. Returns a synchronous error (the handle is then closed).
  int connect(const sockaddr* addr);
  // Hands this connection's events to another handler (an upstream
  // connection moving between requests, or into the idle pool).
  void setHandler(ConnectionHandler& handler) { handler_ = &handler; }
  ConnectionHandler& handler() const { return *handler_; }

  // TLS: call startServerTls after accept() and before readStart();
  // startClientTls before connect() (onConnected then waits for the
  // handshake). False when the session could not be made (out of memory).
  bool startServerTls(tls::ServerContextPtr context);
  bool startClientTls(tls::ClientContextPtr context, std::string_view host, tls::ClientSessionCache* cache);
  // Client TLS on a connection that is already connected and open (a tunnel
  // an HTTP proxy opened with CONNECT), with nothing unread: the handshake
  // starts on the next loop turn and onConnected reports its outcome (0,
  // kErrTlsCertificate, kErrTlsHandshake), as after connect(). False (and
  // nothing changed) when TLS is already on, bytes are unread, or the
  // session could not be made.
  bool upgradeToClientTls(tls::ClientContextPtr context, std::string_view host, tls::ClientSessionCache* cache);
  tls::TlsSession* tls() const { return tls_ ? tls_->session.get() : nullptr; }

  void readStart();
  void readStop();
  bool reading() const { return reading_; }

  // Input: bytes read but not consumed, in the current input slice.
  std::string_view unread() const {
    return std::string_view(in_ ? in_->data() + rpos_ : nullptr, wpos_ - rpos_);
  }
  const buf::SliceRef& inputSlice() const { return in_; }
  void consume(size_t n);
  // Lets go of the input slices when everything read has been consumed and
  // nothing else references them (the connection also does this after each
  // read). An owner that goes idle outside a read calls it.
  void releaseIdleInput();

  // Output: takes every piece of `chain`; starts a write when none is in flight.
  // Never calls the handler back: when the kernel refuses the bytes at once,
  // the error is kept and onWriteError reports it from the next loop turn
  // (as libuv, uWS and h2o do), so the caller's objects are all still there
  // when write() returns. From then on the connection is not open() and
  // further writes are dropped; close() before the report cancels it.
  void write(buf::BufferChain& chain);
  size_t pendingBytes() const { return pending_.size() + inflight_bytes_; }
  bool writing() const { return inflight_bytes_ > 0; }

  // Graceful end: once everything queued is written, shut down the write side
  // and discard input until the peer closes (so unread request bytes do not
  // turn our close into a reset that destroys the response), then close.
  void finish();
  // Immediate close; pending writes are cancelled. Idempotent.
  void close();
  // As close(), but the peer sees a reset (RST), not an orderly end (FIN):
  // for a response that can only end at the close and was cut short.
  void reset();
  State state() const { return state_; }
  // Open and usable: not finishing or closing, and no write has failed.
  bool open() const { return state_ == State::Open && write_error_ == 0; }
  bool closing() const { return state_ == State::Closing || state_ == State::Closed; }

  sockaddr_storage peer() const;
  uint64_t bytesRead() const { return bytes_read_; }
  uint64_t bytesWritten() const { return bytes_written_; }
  loop::EventLoop& loop() { return loop_; }

 private:
  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* out);
  static void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onShutdown(uv_shutdown_t* req, int status);
  static void onClose(uv_handle_t* h);
  void closeWith(bool reset);
  static void onConnect(uv_connect_t* req, int status);
  // The Connection a handle callback is for, waking a parked socket first.
  static Connection* of(uv_handle_t* h);
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&sock_->tcp); }
  void readPeer();
  // Binds a socket (the caller's, or a new one of our own) before init.
  void bind(Socket* socket);
  void flush();
  // A write failed: drop what is queued, keep the first error, and report it
  // from the next loop turn (write_error_report_).
  void failWrite(int err);
  static void onWriteErrorReport(loop::TimeoutNode& node);
  void startShutdown();
  // The free tail of the input slice (moving unconsumed bytes to a fresh
  // slice when it is full); empty when unconsumed bytes fill a whole slice.
  uv_buf_t inputSpace();
  // TLS: decrypt buffered ciphertext into the input slice and tell the
  // handler, while it keeps reading.
  void pumpTls();
  void encrypt(buf::BufferChain& chain);
  void onTlsOutput(const char* data, size_t n) override;
  void tlsHandshakeFailed();
  bool tlsBuffered() const;
  static void onTlsPump(loop::TimeoutNode& node);

  struct TlsState {
    explicit TlsState(Connection* owner, buf::SlicePool& pool) : pump(&Connection::onTlsPump, owner), backlog(pool) {}
    std::unique_ptr<tls::TlsSession> session;
    buf::SliceRef in;  // ciphertext read but not yet taken by the session
    uint32_t rpos = 0;
    uint32_t wpos = 0;
    loop::TimeoutNode pump;    // decrypts buffered input when reading resumes
    buf::BufferChain backlog;  // plaintext written before the handshake completed
    bool connecting = false;   // client: onConnected waits for the handshake
  };

  loop::EventLoop& loop_;
  ConnectionHandler* handler_;
  Socket* sock_ = nullptr;       // set by accept/connect/adopt; null once detached
  std::unique_ptr<Socket> own_;  // the socket, when no caller gave one
  PeerAddress peer_{};
  // Made on the first write the kernel does not take at once (a slow
  // client, a big body): most connections never need one.
  std::unique_ptr<uv_write_t> write_req_;
  // An upstream connection connects first and shuts down last, never both
  // at once (startShutdown refuses while connecting_).
  union ConnectOrShutdown {
    uv_connect_t connect;
    uv_shutdown_t shutdown;
  } req_;
  State state_ = State::Open;
  bool connecting_ = false;
  bool initialized_ = false;
  bool reading_ = false;
  bool peer_eof_ = false;
  buf::SliceRef in_;
  uint32_t rpos_ = 0;
  uint32_t wpos_ = 0;
  buf::BufferChain pending_;
  std::vector<buf::BufferChain::Piece> inflight_;
  size_t inflight_bytes_ = 0;
  // The first write error, and the node on the loop's zero-duration timeout
  // list that reports it (armed only when a write fails: the success path
  // never touches it). close() and the destructor cancel it.
  int write_error_ = 0;
  loop::TimeoutNode write_error_report_{&Connection::onWriteErrorReport, this};
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
  std::unique_ptr<TlsState> tls_;  // only TLS connections pay for it
};

}  // namespace plexgate::net
